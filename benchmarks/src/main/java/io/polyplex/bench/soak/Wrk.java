package io.polyplex.bench.soak;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The keep-alive part of the load: wrk with one thread and a few connections, running {@code
 * soak.lua} (a resource next to this class), which checks every response's body in wrk's {@code
 * response()} callback and prints the counts at {@code done()}. The script also makes each
 * connection pause between requests, so wrk takes a share of a 2-core machine, not all it can.
 */
final class Wrk {

    private static final Pattern COUNTS = Pattern.compile(
            "soak-lua: ok=(\\d+) wrong=(\\d+) refused=(\\d+) first-wrong=(.*)");
    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s*([0-9.]+)");
    private static final Pattern ERRORS = Pattern.compile("(Socket errors:[^\\n]*)");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses:\\s*(\\d+)");

    /**
     * What wrk reported. {@code ran} false: wrk is not installed ({@code note} says so). {@code
     * counted} false: wrk ran but its script's count line is missing (wrk failed). {@code
     * socketErrors} and {@code non2xx} are wrk's own lines, for information.
     */
    record Result(boolean ran, boolean counted, long ok, long wrong, long refused, String firstWrong,
                  double requestsPerSecond, String socketErrors, long non2xx, int exitCode, String note) {
        static Result skipped(String why) {
            return new Result(false, false, 0, 0, 0, "", Double.NaN, "", 0, -1, why);
        }
    }

    private final Process process;
    private final Path output;
    private final Path script;
    private final Thread killOnExit;

    private Wrk(Process process, Path output, Path script) {
        this.process = process;
        this.output = output;
        this.script = script;
        this.killOnExit = Soak.killOnExit(process);
    }

    /** The wrk on PATH, or null. */
    static String find() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, "wrk");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    /** Starts wrk against {@code server}'s {@code /} for {@code seconds}; its output goes to {@code output}. */
    static Wrk start(String wrk, InetSocketAddress server, String backend, int connections, int pauseMs, int seconds,
                     Path output) throws IOException {
        Path script = Files.createTempFile("soak", ".lua");
        try (InputStream in = Wrk.class.getResourceAsStream("soak.lua")) {
            if (in == null) {
                throw new IOException("soak.lua is missing from the class path");
            }
            Files.write(script, in.readAllBytes());
        }
        List<String> cmd = new ArrayList<>(List.of(wrk, "-t1", "-c" + connections, "-d" + seconds + "s", "--timeout",
                "30s", "-s", script.toString(), "http://" + server.getHostString() + ":" + server.getPort() + "/", "--",
                backend, Integer.toString(pauseMs)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        return new Wrk(p, output, script);
    }

    /** Waits up to {@code seconds} for wrk to end (killed after that) and reads what it printed. */
    Result finish(long seconds) throws IOException, InterruptedException {
        boolean ended = process.waitFor(seconds, TimeUnit.SECONDS);
        if (!ended) {
            process.destroyForcibly().waitFor();
        }
        Soak.forget(killOnExit);
        Files.deleteIfExists(script);
        String text = Files.readString(output, StandardCharsets.UTF_8);
        Matcher c = COUNTS.matcher(text);
        Matcher rps = RPS.matcher(text);
        Matcher errors = ERRORS.matcher(text);
        Matcher non2xx = NON_2XX.matcher(text);
        String note = ended ? "" : "wrk did not end in time and was killed";
        if (!c.find()) {
            return new Result(true, false, 0, 0, 0, "", Double.NaN, errors.find() ? errors.group(1) : "", 0,
                    ended ? process.exitValue() : -1, (note + " no soak-lua count line in wrk's output").trim());
        }
        return new Result(true, true, Long.parseLong(c.group(1)), Long.parseLong(c.group(2)), Long.parseLong(c.group(3)),
                c.group(4).trim(), rps.find() ? Double.parseDouble(rps.group(1)) : Double.NaN,
                errors.find() ? errors.group(1) : "", non2xx.find() ? Long.parseLong(non2xx.group(1)) : 0,
                ended ? process.exitValue() : -1, note);
    }
}
