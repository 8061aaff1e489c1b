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
 * connections; requests per second, the median of interleaved rounds, and (on Linux) each server's
 * CPU time per request in the same rounds, in the note. All three run one event-loop thread, and
 * Netty runs with the tuning of its own benchmark entry ({@link io.polyplex.bench.e2e.NettyHttpServer},
 * {@link #nettyJvmArgs}). wrk and the servers share this machine: where {@code taskset} exists and
 * there are at least two CPUs, the servers are pinned to CPU 0 and wrk to CPU 1, so they at least do
 * not take turns on one core.
 */
final class EndToEnd {

    /** One server: its JVM options beyond the common ones, its main class, its arguments. */
    private record Server(String contender, String mainClass, List<String> jvmArgs, List<String> args) {
    }

    /**
     * The JVM flags Netty's TechEmpower entry runs its plaintext server with (its run script), less
     * the GC choice, which stays the same for all three servers: sun.misc.Unsafe on (Netty's default
     * up to JDK 24; from JDK 25 Netty turns it off unless told otherwise, and from JDK 23 the JDK asks
     * for {@code --sun-misc-unsafe-memory-access=allow}, a flag older JDKs refuse), and no bounds or
     * reference-count check on each ByteBuf access. The leak detector is off in the server's code.
     */
    static List<String> nettyJvmArgs(int jdkFeature) {
        List<String> out = new ArrayList<>(List.of("-Dio.netty.noUnsafe=false", "-Dio.netty.buffer.checkBounds=false",
                "-Dio.netty.buffer.checkAccessible=false"));
        if (jdkFeature >= 23) {
            out.add("--sun-misc-unsafe-memory-access=allow");
        }
        return out;
    }

    private EndToEnd() {
    }

    static List<Measurement> run(Suite.Settings s, String classPath) throws IOException, InterruptedException {
        String wrk = which("wrk");
        int rounds = s.smoke() ? 1 : ROUNDS;
        String param = "wrk -t1 -c" + s.e2eConnections() + ", keep-alive, median of " + rounds + " x " + s.e2eSeconds()
                + " s";
        if (wrk == null) {
            System.out.println("e2e: wrk is not installed (Debian: apt-get install wrk); skipped");
            return List.of(Measurement.refused("e2e", "all", param, "req/s", "skipped: wrk not installed"));
        }
        String taskset = Report.Machine.onlineCpus() >= 2 ? which("taskset") : null;
        param += taskset != null ? ", server on CPU 0, wrk on CPU 1" : ", not pinned";
        // One event-loop thread each, level-triggered each (the demo's default, java.nio's Selector,
        // Netty 4.2's only epoll mode), accepting on that loop each.
        List<Server> servers = List.of(
                new Server("polyplex-epoll demo", "io.polyplex.demo.HttpServer", List.of(), List.of("--backend", "epoll")),
                new Server("java.nio reference", "io.polyplex.bench.e2e.NioHttpServer", List.of(), List.of()),
                new Server("netty-epoll hello-world", "io.polyplex.bench.e2e.NettyHttpServer",
                        nettyJvmArgs(Runtime.version().feature()), List.of()));
        List<Process> processes = new ArrayList<>();
        List<List<Double>> samples = new ArrayList<>();
        List<List<Double>> cpuPerRequest = new ArrayList<>();
        double tick = 1e6 / clockTicksPerSecond();
        List<String> notes = new ArrayList<>();
        try {
            // All servers up at once (idle ones cost nothing), then rounds that take each in turn: the
            // host's speed drifts over minutes, and interleaving spreads that drift over all three.
            for (int i = 0; i < servers.size(); i++) {
                processes.add(start(s, classPath, taskset, servers.get(i), BASE_PORT + i));
                samples.add(new ArrayList<>());
                cpuPerRequest.add(new ArrayList<>());
                notes.add("");
            }
            for (int i = 0; i < servers.size(); i++) {
                Suite.awaitListening(BASE_PORT + i, 30, processes.get(i));
                if (!s.smoke()) {
                    wrk(wrk, taskset, s.e2eConnections(), 3, url(i)); // warm-up: JIT, connection setup
                }
            }
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < servers.size(); i++) {
                    Server server = servers.get(i);
                    System.out.println("e2e: round " + (r + 1) + "/" + rounds + ": " + server.contender());
                    long cpuBefore = cpuTicks(processes.get(i).pid());
                    String text = wrk(wrk, taskset, s.e2eConnections(), s.e2eSeconds(), url(i));
                    long cpuAfter = cpuTicks(processes.get(i).pid());
                    String requests = Suite.find(text, "(\\d+) requests in");
                    if (cpuBefore >= 0 && cpuAfter >= 0 && requests != null && Long.parseLong(requests) > 0) {
                        cpuPerRequest.get(i).add((cpuAfter - cpuBefore) * tick / Long.parseLong(requests));
                    }
                    Files.writeString(s.results().resolve("wrk-" + slug(server) + "-" + (r + 1) + ".txt"), text,
                            StandardCharsets.UTF_8);
                    String rps = Suite.find(text, "Requests/sec:\\s*([0-9.]+)");
                    if (rps != null) {
                        samples.get(i).add(Double.parseDouble(rps));
                    }
                    String non2xx = Suite.find(text, "Non-2xx or 3xx responses:\\s*(\\d+)");
                    String errors = Suite.find(text, "(Socket errors:[^\\n]*)");
                    if (non2xx != null || errors != null) {
                        notes.set(i, (non2xx != null ? non2xx + " non-2xx responses; " : "") + (errors != null ? errors : ""));
                    }
                    if (!processes.get(i).isAlive()) {
                        notes.set(i, "server died during the run (see e2e-" + slug(server) + ".log)");
                    }
                }
            }
        } finally {
            for (Process p : processes) {
                p.destroy();
                if (!p.waitFor(15, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            }
        }
        List<Measurement> out = new ArrayList<>();
        for (int i = 0; i < servers.size(); i++) {
            List<Double> xs = samples.get(i);
            if (xs.isEmpty()) {
                out.add(Measurement.refused("e2e", servers.get(i).contender(), param, "req/s", "wrk printed no Requests/sec"));
                continue;
            }
            List<Double> sorted = new ArrayList<>(xs);
            sorted.sort(null);
            double median = sorted.get(sorted.size() / 2);
            double spread = (sorted.get(sorted.size() - 1) - sorted.get(0)) / 2;
            StringBuilder all = new StringBuilder("rounds:");
            for (double x : xs) {
                all.append(' ').append(Math.round(x));
            }
            List<Double> cpu = cpuPerRequest.get(i);
            if (!cpu.isEmpty()) {
                List<Double> cs = new ArrayList<>(cpu);
                cs.sort(null);
                all.append("; server CPU per request: ").append(String.format(java.util.Locale.ROOT, "%.2f", cs.get(cs.size() / 2)))
                        .append(" us, rounds:");
                for (double c : cpu) {
                    all.append(' ').append(String.format(java.util.Locale.ROOT, "%.2f", c));
                }
            }
            String note = (notes.get(i) + " " + all).trim();
            out.add(new Measurement("e2e", servers.get(i).contender(), param, median,
                    xs.size() > 1 ? spread : Double.NaN, "req/s", Double.NaN, note));
        }
        return out;
    }

    private static final int ROUNDS = 5;

    /**
     * CPU time (user + system) a process has used, in clock ticks, from {@code /proc/PID/stat}; -1
     * where there is no such file (not Linux). With wrk's request count this gives the server's CPU
     * per request, which a shared host disturbs far less than req/s: other work takes CPU away from
     * the server, not (much) CPU per request. The server runs under taskset, which execs the JVM,
     * so the pid is the JVM's.
     */
    static long cpuTicks(long pid) {
        try {
            return cpuTicks(Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** utime + stime (fields 14 and 15) of one {@code /proc/PID/stat} line; its name may hold spaces. */
    static long cpuTicks(String stat) {
        String[] f = stat.substring(stat.lastIndexOf(')') + 1).trim().split("\\s+");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // f[0] is field 3, the state
    }

    /** USER_HZ, the unit of {@link #cpuTicks}: {@code getconf CLK_TCK}, else Linux's usual 100. */
    private static long clockTicksPerSecond() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.waitFor() == 0 && out.matches("\\d+")) {
                return Long.parseLong(out);
            }
        } catch (IOException e) {
            // below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }
    private static final int BASE_PORT = 18_081;

    private static String url(int i) {
        return "http://127.0.0.1:" + (BASE_PORT + i) + "/";
    }

    private static String slug(Server server) {
        return server.contender().replaceAll("[^a-z0-9]+", "-");
    }

    private static Process start(Suite.Settings s, String classPath, String taskset, Server server, int port)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        if (taskset != null) {
            cmd.addAll(List.of(taskset, "-c", "0"));
        }
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xms256m", "-Xmx256m"));
        cmd.addAll(server.jvmArgs());
        cmd.addAll(List.of("-cp", classPath, server.mainClass(), "--port", Integer.toString(port)));
        cmd.addAll(server.args());
        Path log = s.results().resolve("e2e-" + slug(server) + ".log");
        System.out.println("e2e: starting " + server.contender() + " on port " + port
                + (server.jvmArgs().isEmpty() ? "" : " with " + String.join(" ", server.jvmArgs())));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
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
