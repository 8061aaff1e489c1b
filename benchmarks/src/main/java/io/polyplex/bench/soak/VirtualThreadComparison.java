package io.polyplex.bench.soak;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 14's measurements of the demo's virtual-thread mode against its event loop and against the
 * JDK's own sockets on virtual threads ({@link io.polyplex.bench.e2e.JdkVirtualThreadHttpServer}):
 * throughput under wrk with 50 and with 1,000 keep-alive connections, and memory per idle keep-alive
 * connection with 10,000 of them (RSS and heap after a full GC, before and after, divided by the
 * connections). Every server runs in its own JVM of the JDK running this (21+), with the same heap
 * settings, pinned to CPU 0 while wrk runs on CPU 1 (taskset). One run; ratios are within it. The
 * run has {@code --rounds} rounds (default 3); each round starts every server in turn and measures
 * both loads, so a burst of noise on the shared host hits one server's round, not a whole column.
 * The table gives each server's median round, and the spread; memory is measured in the last round.
 * Then the wake latency: {@link io.polyplex.bench.ParkWakeBenchmark} under JMH (2 forks, each 2
 * warm-up and 5 measured iterations of 2 s), the round trip from a readable fd to the parked virtual
 * thread running, against the JDK's own virtual-thread socket read ({@code --no-wake} skips it).
 *
 * <p>{@code bash benchmarks/vt-compare [--seconds N] [--idle N] [--rounds N] [--out FILE]}.
 */
public final class VirtualThreadComparison {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");
    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");

    private record Server(String name, List<String> args) {
    }

    private VirtualThreadComparison() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = 10;
        int idle = 10_000;
        int rounds = 3;
        boolean wake = true;
        Path out = Path.of("benchmarks/results/vt-compare.md");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--idle" -> idle = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--no-wake" -> wake = false;
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (Runtime.version().feature() < 21) {
            System.err.println("vt-compare needs JDK 21 or newer (this is " + Runtime.version() + ")");
            System.exit(2);
        }
        String cp = System.getProperty("java.class.path");
        List<Server> servers = List.of(
                new Server("demo event loop (epoll)", List.of("io.polyplex.demo.HttpServer", "--port", "0",
                        "--max-connections", "100000", "--idle-timeout-ms", "600000")),
                new Server("demo virtual threads (epoll)", List.of("io.polyplex.demo.HttpServer", "--port", "0",
                        "--virtual-threads", "--max-connections", "100000", "--idle-timeout-ms", "600000")),
                new Server("JDK sockets, virtual threads", List.of("io.polyplex.bench.e2e.JdkVirtualThreadHttpServer",
                        "--port", "0")));
        StringBuilder report = new StringBuilder();
        report.append("# Virtual threads: the demo against the JDK's own sockets\n\n")
                .append("JDK ").append(Runtime.version()).append(", ").append(Runtime.getRuntime().availableProcessors())
                .append(" CPUs; servers pinned to CPU 0 with -Xms256m -Xmx256m, wrk -t1 on CPU 1, ")
                .append(seconds).append(" s per load after a ").append(Math.max(2, seconds / 5)).append(" s warm-up; ")
                .append(rounds).append(" rounds, each server in turn in each, req/s the median round (range in brackets); ")
                .append(idle).append(" idle keep-alive connections for the memory rows (last round).\n\n")
                .append("| server | req/s, 50 conns | req/s, 1,000 conns | RSS per idle conn | heap per idle conn |\n")
                .append("|---|---|---|---|---|\n");
        double[][][] byRound = new double[servers.size()][rounds][];
        for (int r = 0; r < rounds; r++) {
            for (int s = 0; s < servers.size(); s++) {
                byRound[s][r] = measure(servers.get(s), cp, seconds, r == rounds - 1 ? idle : 0);
            }
        }
        double[][] results = new double[servers.size()][4];
        for (int s = 0; s < servers.size(); s++) {
            double[] at50 = column(byRound[s], 0);
            double[] at1000 = column(byRound[s], 1);
            results[s] = new double[] {median(at50), median(at1000), byRound[s][rounds - 1][2], byRound[s][rounds - 1][3]};
            report.append(String.format(Locale.ROOT, "| %s | %,.0f (%,.0f-%,.0f) | %,.0f (%,.0f-%,.0f) | %,.0f B | %,.0f B |%n",
                    servers.get(s).name(), results[s][0], at50[0], at50[at50.length - 1],
                    results[s][1], at1000[0], at1000[at1000.length - 1], results[s][2], results[s][3]));
        }
        double[] vt = results[1];
        double[] jdk = results[2];
        report.append(String.format(Locale.ROOT, "%nRatios, demo virtual threads / JDK sockets: throughput %.2fx (50), "
                        + "%.2fx (1,000), target >= 0.9x; RSS per idle connection %.2fx, heap %.2fx, target <= 1.2x.%n",
                vt[0] / jdk[0], vt[1] / jdk[1], vt[2] / jdk[2], vt[3] / jdk[3]));
        if (wake) {
            report.append(wakeLatency());
        }
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, report.toString());
        System.out.print(report);
        System.out.println("written to " + out);
    }

    /** Runs ParkWakeBenchmark under JMH (its own forked JVMs) and returns its section of the report. */
    private static String wakeLatency() throws Exception {
        org.openjdk.jmh.runner.options.Options options = new org.openjdk.jmh.runner.options.OptionsBuilder()
                .include("\\." + io.polyplex.bench.ParkWakeBenchmark.class.getSimpleName() + "\\.")
                .forks(2).warmupIterations(2).measurementIterations(5)
                .warmupTime(org.openjdk.jmh.runner.options.TimeValue.seconds(1))
                .measurementTime(org.openjdk.jmh.runner.options.TimeValue.seconds(2)).build();
        java.util.Map<String, org.openjdk.jmh.results.Result<?>> scores = new java.util.LinkedHashMap<>();
        for (org.openjdk.jmh.results.RunResult r : new org.openjdk.jmh.runner.Runner(options).run()) {
            scores.put(r.getParams().getParam("impl"), r.getPrimaryResult());
        }
        if (!scores.containsKey("polyplex") || !scores.containsKey("jdk")) {
            throw new IllegalStateException("ParkWakeBenchmark gave no result for polyplex or jdk: " + scores.keySet());
        }
        StringBuilder r = new StringBuilder("\n## Wake latency\n\n")
                .append("ParkWakeBenchmark (JMH, 2 forks x 5 iterations of 2 s): a platform thread writes one byte, a")
                .append(" virtual thread parked in a blocking read echoes it back; the round trip.\n\n")
                .append("| virtual thread's read | round trip |\n|---|---|\n");
        for (var e : scores.entrySet()) {
            String what = switch (e.getKey()) {
                case "polyplex" -> "Polyplex BlockingSockets on a native socketpair (default pollers)";
                case "polyplex-platform-pollers" -> "the same, platform-thread pollers";
                case "jdk" -> "JDK SocketChannel (AF_UNIX), blocking, on a virtual thread";
                default -> e.getKey();
            };
            r.append(String.format(Locale.ROOT, "| %s | %,.1f ± %,.1f µs |%n", what, e.getValue().getScore() / 1000,
                    e.getValue().getScoreError() / 1000));
        }
        r.append(String.format(Locale.ROOT, "%nRatio, Polyplex / JDK: %.2fx.%n",
                scores.get("polyplex").getScore() / scores.get("jdk").getScore()));
        return r.toString();
    }

    /** One column of the rounds, sorted. */
    private static double[] column(double[][] rounds, int index) {
        double[] c = new double[rounds.length];
        for (int r = 0; r < rounds.length; r++) {
            c[r] = rounds[r][index];
        }
        java.util.Arrays.sort(c);
        return c;
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /**
     * [req/s at 50, req/s at 1,000, RSS bytes per idle conn, heap bytes per idle conn]; the memory
     * entries are NaN when {@code idle} is 0.
     */
    private static double[] measure(Server server, String cp, int seconds, int idle) throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> cmd = new ArrayList<>(List.of("taskset", "-c", "0", java, "--enable-native-access=ALL-UNNAMED",
                "-Xms256m", "-Xmx256m", "-cp", cp));
        cmd.addAll(server.args());
        Path log = Files.createTempFile("vt-compare-", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            int port = awaitPort(p, log);
            String url = "http://127.0.0.1:" + port + "/";
            wrk(url, 50, Math.max(2, seconds / 5));
            double at50 = wrk(url, 50, seconds);
            wrk(url, 1000, Math.max(2, seconds / 5));
            double at1000 = wrk(url, 1000, seconds);
            if (idle == 0) {
                System.out.printf(Locale.ROOT, "%s: %,.0f req/s at 50, %,.0f at 1,000%n", server.name(), at50, at1000);
                return new double[] {at50, at1000, Double.NaN, Double.NaN};
            }
            ProcessProbe probe = new ProcessProbe(p.pid());
            long heapBefore = probe.heapAfterGcKiB();
            long rssBefore = probe.rssKiB();
            List<Socket> held = new ArrayList<>(idle);
            try {
                byte[] request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < idle; i++) {
                    Socket c = new Socket();
                    held.add(c);
                    c.connect(new InetSocketAddress("127.0.0.1", port), 20_000);
                    c.setSoTimeout(20_000);
                    OutputStream o = c.getOutputStream();
                    o.write(request);
                    readResponse(c.getInputStream());
                }
                long heapAfter = probe.heapAfterGcKiB();
                long rssAfter = probe.rssKiB();
                System.out.printf(Locale.ROOT, "%s: %,.0f req/s at 50, %,.0f at 1,000; %d idle: RSS %d -> %d KiB, heap %d -> %d KiB%n",
                        server.name(), at50, at1000, idle, rssBefore, rssAfter, heapBefore, heapAfter);
                return new double[] {at50, at1000, (rssAfter - rssBefore) * 1024.0 / idle,
                        (heapAfter - heapBefore) * 1024.0 / idle};
            } finally {
                for (Socket c : held) {
                    c.close();
                }
            }
        } finally {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    /** Reads one response with a Content-Length body (what every route measured here sends). */
    private static void readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed after " + head);
            }
            head.append((char) b);
        }
        Matcher m = Pattern.compile("Content-Length: (\\d+)", Pattern.CASE_INSENSITIVE).matcher(head);
        int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
        if (in.readNBytes(length).length != length) {
            throw new IOException("short body");
        }
    }

    private static int awaitPort(Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(Files.readString(log));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("the server exited: " + Files.readString(log));
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no banner in 60 s: " + Files.readString(log));
    }

    private static double wrk(String url, int connections, int seconds) throws Exception {
        Process w = new ProcessBuilder("taskset", "-c", "1", "wrk", "-t1", "-c" + connections, "-d" + seconds + "s", url)
                .redirectErrorStream(true).start();
        String output = new String(w.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        w.waitFor();
        Matcher m = RPS.matcher(output);
        if (!m.find()) {
            throw new IllegalStateException("wrk said: " + output);
        }
        return Double.parseDouble(m.group(1));
    }
}
