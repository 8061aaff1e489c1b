package io.polyplex.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Workload 5: the Polyplex demo HTTP server, the java.nio reference server (same request handling)
 * and Netty's hello-world on its native epoll transport, each in its own JVM, under wrk with keep-alive
 * connections; requests per second. All three run one event-loop thread. wrk and the server share
 * this machine: where {@code taskset} exists and there are at least two CPUs, the server is pinned to
 * CPU 0 and wrk to CPU 1, so they at least do not take turns on one core.
 */
final class EndToEnd {

    private record Server(String contender, String mainClass, List<String> args) {
    }

    private EndToEnd() {
    }

    static List<Measurement> run(Suite.Settings s, String classPath) throws IOException, InterruptedException {
        String wrk = which("wrk");
        String param = "wrk -t1 -c" + s.e2eConnections() + " -d" + s.e2eSeconds() + "s, keep-alive";
        if (wrk == null) {
            System.out.println("e2e: wrk is not installed (Debian: apt-get install wrk); skipped");
            return List.of(Measurement.refused("e2e", "all", param, "req/s", "skipped: wrk not installed"));
        }
        String taskset = Runtime.getRuntime().availableProcessors() >= 2 ? which("taskset") : null;
        String pinning = taskset != null ? ", server on CPU 0, wrk on CPU 1" : ", not pinned";
        List<Server> servers = List.of(
                new Server("polyplex-epoll demo", "io.polyplex.demo.HttpServer", List.of("--backend", "epoll")),
                new Server("java.nio reference", "io.polyplex.bench.e2e.NioHttpServer", List.of()),
                new Server("netty-epoll hello-world", "io.polyplex.bench.e2e.NettyHttpServer", List.of()));
        List<Measurement> out = new ArrayList<>();
        int port = 18_080;
        for (Server server : servers) {
            port++;
            out.add(measure(s, classPath, wrk, taskset, server, port, param + pinning));
        }
        return out;
    }

    private static Measurement measure(Suite.Settings s, String classPath, String wrk, String taskset, Server server,
                                       int port, String param) throws IOException, InterruptedException {
        String slug = server.contender().replaceAll("[^a-z0-9]+", "-");
        List<String> cmd = new ArrayList<>();
        if (taskset != null) {
            cmd.addAll(List.of(taskset, "-c", "0"));
        }
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xms256m", "-Xmx256m", "-cp", classPath, server.mainClass(),
                "--port", Integer.toString(port)));
        cmd.addAll(server.args());
        Path log = s.results().resolve("e2e-" + slug + ".log");
        System.out.println("e2e: " + server.contender() + " on port " + port);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Suite.awaitListening(port, 30, p);
            String url = "http://127.0.0.1:" + port + "/";
            if (!s.smoke()) {
                wrk(wrk, taskset, s.e2eConnections(), 3, url); // warm-up: JIT, connection setup
            }
            String text = wrk(wrk, taskset, s.e2eConnections(), s.e2eSeconds(), url);
            Files.writeString(s.results().resolve("wrk-" + slug + ".txt"), text, StandardCharsets.UTF_8);
            String rps = Suite.find(text, "Requests/sec:\\s*([0-9.]+)");
            if (rps == null) {
                return Measurement.refused("e2e", server.contender(), param, "req/s", "wrk printed no Requests/sec");
            }
            String non2xx = Suite.find(text, "Non-2xx or 3xx responses:\\s*(\\d+)");
            String errors = Suite.find(text, "(Socket errors:[^\\n]*)");
            String note = (non2xx != null ? non2xx + " non-2xx responses; " : "") + (errors != null ? errors : "");
            if (!p.isAlive()) {
                note = "server died during the run (see " + log.getFileName() + ")";
            }
            return new Measurement("e2e", server.contender(), param, Double.parseDouble(rps), Double.NaN, "req/s",
                    Double.NaN, note.trim());
        } finally {
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
    }

    private static String wrk(String wrk, String taskset, int connections, int seconds, String url)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (taskset != null) {
            cmd.addAll(List.of(taskset, "-c", "1"));
        }
        cmd.addAll(List.of(wrk, "-t1", "-c" + connections, "-d" + seconds + "s", url));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + text);
        }
        return text;
    }

    /** The absolute path of {@code program} on PATH, or null. */
    static String which(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
