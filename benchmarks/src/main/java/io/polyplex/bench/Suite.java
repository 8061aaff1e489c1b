package io.polyplex.bench;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The whole benchmark suite in one run: the JMH workloads for every backend this OS supports and
 * their peers (Polyplex's java.nio Selector beside jnr-enxio's and the JDK's among them), the C
 * floor, and the end-to-end HTTP comparison under wrk; then one table of
 * ratios on stdout and everything under the results directory (see {@link Report}).
 *
 * <p>{@code benchmarks/run} builds the jar and the C floor and calls this; {@code --smoke} runs
 * every step with tiny times, to prove in CI that the suite still starts and its parts still fit. A
 * smoke run says so at the start and in its table, judges no target, and (unless given {@code
 * --results}) writes to a temporary directory that is gone when it ends.
 */
public final class Suite {

    /**
     * What to run, from the command line. {@code temporaryResults}: a smoke run not given {@code
     * --results} writes to a temporary directory, deleted at exit ({@link TemporaryResults}).
     */
    record Settings(boolean smoke, Path results, boolean temporaryResults, Path floor, boolean jmh, boolean e2e,
                    int e2eSeconds, int e2eConnections, boolean pinned) {
    }

    /** Where a run of one workload alone ({@code --only}) writes, so it never replaces a whole run's files. */
    static final Path ONLY_E2E_RESULTS = Path.of("benchmarks", "results", "e2e-only");

    private static final String USAGE = "usage: Suite [--smoke] [--results DIR] [--floor PATH-TO-C-FLOOR]"
            + " [--no-e2e | --only e2e] [--e2e-seconds N] | Suite --rerender DIR";

    private Suite() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--rerender")) {
            // Tables and chart again from a results.json (after a change to Report), nothing measured.
            Path dir = Path.of(args[1]);
            Report report = Report.read(dir.resolve("results.json"));
            report.write(dir);
            System.out.println(report.targetsTable());
            return;
        }
        Settings s;
        try {
            s = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        Files.createDirectories(s.results());
        Report.Machine machine = Report.Machine.current(Instant.now().truncatedTo(ChronoUnit.SECONDS), s.smoke(),
                s.pinned());
        System.out.println(s.smoke()
                ? "polyplex benchmark suite: SMOKE RUN. Every step runs once with tiny times (JMH in this JVM, no"
                        + " warm-up), only to prove the suite still works: its numbers mean nothing and no target is"
                        + " judged."
                : "polyplex benchmark suite");
        System.out.println(machine.describe());
        List<Measurement> all = new ArrayList<>();
        List<String> impls = backends();
        if (s.jmh()) {
            all.addAll(jmh(s, impls, new JmhOutput(System.out, s.smoke())));
        } else {
            System.out.println("--only e2e: the JMH workloads and the C floor are not run");
        }
        if (s.e2e()) {
            all.addAll(EndToEnd.run(s, ownClassPath()));
        } else {
            all.add(Measurement.refused("e2e", "all", "", "req/s", "skipped (--no-e2e)"));
        }
        Report report = new Report(machine, all);
        report.write(s.results());
        System.out.println();
        System.out.println(report.targetsTable());
        if (s.temporaryResults()) {
            System.out.println("Smoke run: its files (summary, JSON, chart, raw outputs) went to a temporary directory,"
                    + " deleted on exit; --results DIR keeps them.");
        } else {
            System.out.println("Everything (raw JMH JSON, C floor, wrk output, chart): " + s.results().toAbsolutePath());
        }
    }

    /**
     * The command line as settings. {@code --only e2e} runs the end-to-end workload alone and, unless
     * given {@code --results}, writes to {@link #ONLY_E2E_RESULTS}.
     *
     * @throws IllegalArgumentException on an unknown option, a missing or bad value, or options that
     *     contradict each other
     */
    static Settings parse(String[] args) {
        boolean smoke = false;
        boolean noE2e = false;
        String only = null;
        Path results = null;
        Path floor = null;
        int seconds = 5;
        int connections = 50;
        boolean pinned = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--smoke" -> smoke = true;
                case "--results" -> results = Path.of(value(args, ++i, a));
                case "--floor" -> floor = Path.of(value(args, ++i, a));
                case "--no-e2e" -> noE2e = true;
                case "--only" -> only = value(args, ++i, a);
                case "--e2e-seconds" -> seconds = positive(value(args, ++i, a), a);
                case "--pinned" -> pinned = Integer.parseInt(value(args, ++i, a)) > 0;
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (only != null && !only.equals("e2e")) {
            throw new IllegalArgumentException("--only takes e2e (the one workload that runs alone), not " + only);
        }
        if (only != null && noE2e) {
            throw new IllegalArgumentException("--only e2e and --no-e2e leave nothing to run");
        }
        boolean jmh = only == null;
        boolean e2e = !noE2e;
        boolean temporary = smoke && results == null;
        if (temporary) {
            try {
                results = TemporaryResults.create("polyplex-bench-smoke-");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        } else if (results == null) {
            results = jmh ? Path.of("benchmarks", "results") : ONLY_E2E_RESULTS;
        }
        return new Settings(smoke, results, temporary, floor, jmh, e2e, smoke ? 1 : seconds, connections, pinned);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int positive(String v, String option) {
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException(option + " takes a positive number of seconds, not " + v);
    }

    /** The Polyplex backends this OS supports, in the order of the tables (the soak runs the same list). */
    public static List<String> backends() {
        List<String> names = new ArrayList<>();
        for (String n : new String[] {"epoll", "kqueue", "poll", "select"}) {
            for (BackendInfo b : EventQueues.backends()) {
                if (b.name().equals(n) && b.supported()) {
                    names.add(n);
                }
            }
        }
        return names;
    }

    // ------------------------------------------------------------------ JMH

    private static List<Measurement> jmh(Settings s, List<String> backends, JmhOutput output)
            throws RunnerException, IOException, InterruptedException {
        List<Measurement> out = new ArrayList<>();
        List<String> withPeers = new ArrayList<>(backends);
        withPeers.add("nio");
        List<String> dispatch = new ArrayList<>(withPeers);
        dispatch.add("enxio");
        // Each C floor workload runs just before and just after its JMH counterpart, and the two are
        // averaged: on a shared host the machine's speed drifts over minutes, and a ratio should
        // compare numbers taken over the same stretch of time.
        List<Measurement> before = floor(s, "dispatch");
        out.addAll(run(s, output, "DispatchBenchmark", "dispatch", true, Map.of("impl", dispatch)));
        out.addAll(bracket(before, floor(s, "dispatch")));

        before = floor(s, "scale");
        List<String> scalable = new ArrayList<>(withPeers);
        scalable.remove("select");
        out.addAll(run(s, output, "ScaleBenchmark", "scale", false, Map.of("impl", scalable)));
        if (backends.contains("select")) {
            out.addAll(run(s, output, "ScaleBenchmark", "scale-select", false,
                    Map.of("impl", List.of("select"), "registered", List.of("10", "1000"))));
            out.add(selectRefusal());
        }
        out.addAll(bracket(before, floor(s, "scale")));

        before = floor(s, "wakeup");
        out.addAll(run(s, output, "WakeupBenchmark", "wakeup", false, Map.of("impl", withPeers)));
        out.addAll(bracket(before, floor(s, "wakeup")));

        List<String> churn = new ArrayList<>(withPeers);
        churn.add("nio-batched");
        out.addAll(run(s, output, "ChurnBenchmark", "churn", true, Map.of("impl", churn)));

        // Polyplex's java.nio Selector on the best backend here, jnr-enxio's selector and the JDK's.
        List<String> selectors = new ArrayList<>();
        if (!backends.isEmpty()) {
            selectors.add(Contender.SELECTOR + backends.get(0));
        }
        selectors.add("enxio");
        selectors.add("nio");
        out.addAll(run(s, output, "SelectorBenchmark", "selector", true, Map.of("impl", selectors)));
        return out;
    }

    /** select at 10,000: the setup JMH would run, done here so its error becomes the result. */
    private static Measurement selectRefusal() throws IOException {
        Contender accepted;
        try {
            accepted = ScaleBenchmark.open("select", 10_000);
        } catch (IOException | RuntimeException e) {
            return Measurement.refused("scale", "polyplex-select", "registered=10000", "ns/poll",
                    "refused: " + e.getMessage());
        }
        accepted.close();
        return new Measurement("scale", "polyplex-select", "registered=10000", Double.NaN, Double.NaN, "ns/poll",
                Double.NaN, "accepted 10,000 fds: the FD_SETSIZE check is gone?");
    }

    private static List<Measurement> run(Settings s, JmhOutput output, String benchmark, String file, boolean gc,
                                         Map<String, List<String>> params) throws RunnerException {
        ChainedOptionsBuilder b = new OptionsBuilder()
                .include("io\\.polyplex\\.bench\\." + benchmark + "\\.")
                // A fork gets these options (JMH's default: all of this JVM's), then its @Fork's
                // jvmArgsAppend, which grants native access: this JVM's own grant is left out here,
                // or a fork would be given it twice.
                .jvmArgs(forkJvmArgs(ManagementFactory.getRuntimeMXBean().getInputArguments()).toArray(String[]::new))
                .shouldFailOnError(true)
                .resultFormat(ResultFormatType.JSON)
                .result(s.results().resolve("jmh-" + file + ".json").toString());
        params.forEach((k, v) -> b.param(k, v.toArray(String[]::new)));
        if (gc) {
            b.addProfiler(GCProfiler.class);
        }
        if (s.smoke()) {
            b.forks(0).warmupIterations(0).measurementIterations(1).measurementTime(TimeValue.milliseconds(100));
        } else {
            // Five measured seconds per trial: with three, JMH's 99.9% interval is uselessly wide.
            // Dispatch gets two forks: its cost moves by up to 20% with where one JVM's sockets and
            // objects land in memory, and a second fork averages that out.
            b.forks(benchmark.equals("DispatchBenchmark") ? 2 : 1).warmupIterations(3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(1));
        }
        Collection<RunResult> results = new Runner(b.build(), output).run();
        List<Measurement> out = new ArrayList<>();
        for (RunResult r : results) {
            String impl = r.getParams().getParam("impl");
            Result<?> primary = r.getPrimaryResult();
            Result<?> alloc = r.getSecondaryResults().get("gc.alloc.rate.norm");
            String workload = benchmark.replace("Benchmark", "").toLowerCase(java.util.Locale.ROOT);
            out.add(new Measurement(workload, contenderName(impl), paramOf(workload, impl, r),
                    primary.getScore(), primary.getScoreError(), unitOf(workload),
                    alloc == null ? Double.NaN : alloc.getScore(), ""));
        }
        return out;
    }

    static String contenderName(String impl) {
        return switch (impl) {
            case "nio" -> "java.nio";
            case "nio-batched" -> "java.nio (batched)";
            case "enxio" -> "jnr-enxio";
            default -> "polyplex-" + impl;
        };
    }

    private static String paramOf(String workload, String impl, RunResult r) {
        String name = impl.equals("nio-batched") ? "nio" : impl;
        return switch (workload) {
            case "dispatch" -> "registered=" + Workloads.registeredFor(name, Workloads.DISPATCH_REGISTERED)
                    + ",ready=" + Workloads.DISPATCH_READY;
            case "scale" -> "registered=" + Workloads.registeredFor(name, Integer.parseInt(r.getParams().getParam("registered")));
            case "churn" -> "sockets=" + Workloads.registeredFor(name, Workloads.CHURN_SOCKETS);
            case "selector" -> "registered=" + r.getParams().getParam("registered") + ",ready=" + SelectorBenchmark.READY;
            default -> "round-trip";
        };
    }

    private static String unitOf(String workload) {
        return switch (workload) {
            case "dispatch", "selector" -> "ns/event";
            case "scale" -> "ns/poll";
            case "wakeup" -> "ns/roundtrip";
            default -> "ns/op";
        };
    }

    // ------------------------------------------------------------------ C floor

    private static List<Measurement> floor(Settings s, String workload) throws IOException, InterruptedException {
        if (s.floor() == null || !Files.isExecutable(s.floor())) {
            System.out.println("C floor: not built (" + s.floor() + "); benchmarks/run compiles it with gcc");
            return List.of(Measurement.refused(workload, "C floor", "", "", "not built"));
        }
        List<String> cmd = new ArrayList<>(List.of(s.floor().toString(), "--only", workload));
        if (s.smoke()) {
            cmd.addAll(List.of("--time-ms", "20", "--rounds", "1", "--warmup-ms", "5"));
        } else {
            cmd.addAll(List.of("--time-ms", "600", "--rounds", "5", "--warmup-ms", "300"));
        }
        System.out.println("C floor: " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("C floor failed (exit " + p.exitValue() + "); its stderr is above");
        }
        Path raw = s.results().resolve("floor-" + workload + ".tsv");
        if (Files.exists(raw)) {
            raw = s.results().resolve("floor-" + workload + "-after.tsv");
        }
        Files.write(raw, lines, StandardCharsets.UTF_8);
        List<Measurement> out = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split("\t");
            if (f.length != 6) {
                throw new IOException("C floor: unexpected line: " + line);
            }
            String contender = floorName(f[1]);
            if (f[5].startsWith("refused")) {
                out.add(Measurement.refused(f[0], contender, f[2], f[0].equals("scale") ? "ns/poll" : "", f[5]));
            } else {
                out.add(new Measurement(f[0], contender, f[2], Double.parseDouble(f[3]), Double.parseDouble(f[4]),
                        f[5], Double.NaN, ""));
            }
        }
        return out;
    }

    /**
     * The C floor taken before and after a JMH workload, as one line each: the mean of the two
     * means; the error is the larger of their deviations and half their difference.
     */
    static List<Measurement> bracket(List<Measurement> before, List<Measurement> after) {
        List<Measurement> out = new ArrayList<>();
        for (int i = 0; i < after.size(); i++) {
            Measurement b = i < before.size() ? before.get(i) : null;
            Measurement a = after.get(i);
            if (b == null || !a.ok() || !b.ok() || !a.contender().equals(b.contender()) || !a.param().equals(b.param())) {
                out.add(a);
                continue;
            }
            double score = (a.score() + b.score()) / 2;
            double error = Math.max(Math.max(a.error(), b.error()), Math.abs(a.score() - b.score()) / 2);
            out.add(new Measurement(a.workload(), a.contender(), a.param(), score, error, a.unit(), a.bytesPerOp(),
                    String.format(java.util.Locale.ROOT, "before/after JMH: %s / %s", Report.num(b.score()),
                            Report.num(a.score()))));
        }
        return out;
    }

    /** This JVM's options without its native-access grant (either spelling), for a JMH fork. */
    static List<String> forkJvmArgs(List<String> host) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < host.size(); i++) {
            String a = host.get(i);
            if (a.equals("--enable-native-access")) {
                i++; // and its value
            } else if (!a.startsWith("--enable-native-access=")) {
                out.add(a);
            }
        }
        return out;
    }

    /** {@code c-epoll-pipe} becomes {@code C epoll+pipe}. */
    static String floorName(String impl) {
        String rest = impl.startsWith("c-") ? impl.substring(2) : impl;
        int dash = rest.indexOf('-');
        return "C " + (dash < 0 ? rest : rest.substring(0, dash) + "+" + rest.substring(dash + 1));
    }

    // ------------------------------------------------------------------ plumbing

    /** The class path this JVM runs on (the shaded jar under benchmarks/run), for the server JVMs. */
    private static String ownClassPath() throws URISyntaxException {
        return Path.of(Suite.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString()
                + (System.getProperty("java.class.path").contains(java.io.File.pathSeparator)
                        ? java.io.File.pathSeparator + System.getProperty("java.class.path") : "");
    }

    /** Waits until something accepts on {@code port}, or fails after {@code seconds}. */
    static void awaitListening(int port, int seconds, Process server) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            try (Socket sock = new Socket()) {
                sock.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException e) {
                if (!server.isAlive()) {
                    throw new IOException("server on port " + port + " exited with " + server.exitValue());
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("nothing listens on port " + port + " after " + seconds + " s", e);
                }
                Thread.sleep(100);
            }
        }
    }

    /** The first group of {@code regex} in {@code text}, or null. */
    static String find(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? m.group(1) : null;
    }

}
