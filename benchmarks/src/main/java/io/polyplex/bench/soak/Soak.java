package io.polyplex.bench.soak;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The soak command ({@code benchmarks/soak}): the demo HTTP server, in a JVM of its own, under
 * mixed load for minutes on each backend, sampled every few seconds, and judged.
 *
 * <p>The load, all at once: wrk with keep-alive connections (every body checked by a Lua script),
 * clients that reset mid-response ({@link Resetter}), clients that trickle their requests a byte
 * at a time ({@link Trickler}) and connection storms past the server's limit ({@link Storm}).
 * Every complete response is checked to be exactly the promised one. Samples of the server: open
 * fds, threads, RSS, heap after a forced full GC, open connections and requests from {@code
 * /stats} ({@link ProcessProbe}).
 *
 * <p>A backend passes when every series is flat after warm-up ({@link Flatness}, with the
 * allowances below), no response was wrong or broken, every part of the load did its job, and on
 * SIGTERM the server answered the requests in flight and exited 0 within {@link #DRAIN_BOUND}.
 * It writes {@code soak-<backend>.json} and {@code soak-<backend>.svg} (plus the server's log and
 * wrk's output) to the results directory; the exit status is 0 when every backend passed.
 * {@code --self-check} runs the judge on synthetic series instead ({@link SelfCheck}).
 */
public final class Soak {

    static final String HOST = "127.0.0.1";

    /**
     * fds (and open connections) beyond the load's own connections that a healthy server may hold
     * at a sample: connections whose client has closed but whose close the loop has not processed
     * yet (a resetter's or trickler's next connection races the previous one's close), the attach
     * socket jcmd opens on the first sample, files the JVM opens lazily (/dev/random, a jar).
     */
    static final int FD_SLACK = 8;

    /**
     * Threads may move by this much: the demo's threads are fixed (loop, two workers, started on
     * the first slow request, in warm-up) and the JVM's GC and JIT pools are started up front
     * ({@link SoakRun#serverCommand}), which leaves the attach listener (first sample) and
     * housekeeping threads the JVM starts or retires on its own.
     */
    static final int THREAD_ALLOWANCE = 4;

    /** Heap after GC and RSS may grow by this fraction of their mean over the window... */
    static final double SIZE_FRACTION = 0.10;

    /**
     * ...or by this much heap, if more: a few responses in flight at the moment of the forced GC
     * (a {@code /big} body is 264 KiB) move a live set of a few MiB by about 1 MiB.
     */
    static final double HEAP_FLOOR_KIB = 8 * 1024;

    /** ...or by this much RSS, if more: the JIT's code cache and malloc's arenas settle slowly. */
    static final double RSS_FLOOR_KIB = 16 * 1024;

    /**
     * Threads the load makes the server start for good, so that they are above the level before the
     * load: the attach listener (the first jcmd) and the demo's two workers (the first /slow).
     */
    static final int THREADS_STARTED_BY_LOAD = 3;

    /**
     * How far the heap after GC may sit above its level before the load, on average after warm-up:
     * a quarter of the 128 MiB heap. Far more than a healthy live set gains (the connections' state
     * and a few responses in flight), far less than a leak that filled the heap during warm-up.
     */
    static final double HEAP_LEVEL_KIB = 32 * 1024;

    /**
     * How far RSS may sit above its level before the load, on average after warm-up: the JIT's code
     * cache, the client threads' malloc arenas and direct buffers that a healthy server gains once.
     */
    static final double RSS_LEVEL_KIB = 64 * 1024;

    /** How long the server may take to drain and exit after SIGTERM. */
    static final Duration DRAIN_BOUND = Duration.ofSeconds(30);

    /** Between two connections of one resetter: about 40 resets a second each, not a busy loop. */
    static final long RESETTER_PAUSE_MS = 25;

    /**
     * What to run. {@code runSeconds} of load per backend, a sample every {@code sampleSeconds};
     * storms of {@code maxConnections + stormExtra} held {@code stormHoldMs}, one every {@code
     * stormPauseMs}; wrk with {@code wrkConnections} pausing {@code wrkPauseMs} between requests;
     * {@code resetters} and {@code tricklers} client threads; {@code bigKb} KiB per {@code /big}. A
     * smoke run not given {@code --results} writes to a temporary directory ({@code
     * temporaryResults}), deleted at exit.
     */
    record Settings(boolean smoke, List<String> backends, Mode mode, double runSeconds, double sampleSeconds,
                    int maxConnections, int stormExtra, long stormHoldMs, long stormPauseMs, int wrkConnections,
                    int wrkPauseMs, int resetters, int tricklers, int trickleMaxPauseMs, int bigKb, int heapMb,
                    boolean edge, int acceptThreads, int idleTimeoutMs, int drainMs, Path results,
                    boolean temporaryResults) {

        /** Connections the steady load (everything but the storms) holds at most. */
        int loadConnections() {
            return wrkConnections + resetters + tricklers;
        }
    }

    private Soak() {
    }

    public static void main(String[] args) throws Exception {
        for (String a : args) {
            if (a.equals("--self-check")) {
                System.exit(SelfCheck.run(System.out) ? 0 : 1);
            }
        }
        Settings s;
        try {
            s = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("soak: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        Files.createDirectories(s.results());
        String classPath = ownClassPath();
        if (s.smoke()) {
            System.out.printf(Locale.ROOT, "polyplex soak: SMOKE RUN. %s of load per backend proves that every part of"
                    + " the soak works, not that the server does not leak: its verdicts are not a soak's.%n",
                    SoakRun.duration(s.runSeconds()));
        }
        System.out.printf(Locale.ROOT, "polyplex soak: backends %s, mode %s, %s of load each; results %s%n",
                String.join(", ", s.backends()), s.mode().id, SoakRun.duration(s.runSeconds()),
                s.temporaryResults() ? "in a temporary directory, deleted on exit (--results DIR keeps them)"
                        : "in " + s.results().toAbsolutePath());
        List<SoakRun.Outcome> outcomes = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (String backend : s.backends()) {
            SoakRun.Outcome o;
            try {
                o = SoakRun.run(s, backend, classPath);
            } catch (Exception e) {
                System.out.println("soak " + backend + ": could not run: " + e);
                failed.add(backend + " (could not run: " + e.getMessage() + ")");
                continue;
            }
            outcomes.add(o);
            SoakReport.write(o, s.results());
            System.out.println(SoakReport.text(o));
            if (!o.pass()) {
                failed.add(backend);
            }
        }
        System.out.println();
        for (SoakRun.Outcome o : outcomes) {
            System.out.printf(Locale.ROOT, "soak %-6s %s%s%n", o.backend(), SoakReport.verdict(o), s.temporaryResults()
                    ? "" : "  " + s.results().resolve(SoakRun.stem(o.backend(), s.mode()) + ".json"));
        }
        if (failed.isEmpty()) {
            System.out.println(s.smoke()
                    ? "soak smoke run: every part worked on " + String.join(", ", s.backends()) + " (too short to show"
                            + " a leak: bash benchmarks/soak --minutes 10 does)"
                    : "soak: every backend passed (" + String.join(", ", s.backends()) + ")");
            System.exit(0);
        }
        System.out.println((s.smoke() ? "soak smoke run: FAILED: " : "soak: FAILED: ") + String.join(", ", failed));
        System.exit(1);
    }

    private static final String USAGE = """
            usage: soak [--minutes M] [--backend NAME]... [--smoke] [--sample-seconds S] [--mode event-loop]
                        [--max-connections N] [--wrk-connections N] [--resetters N] [--tricklers N]
                        [--edge] [--accept-threads N] [--results DIR] [--seconds S (instead of --minutes)]
                   soak --self-check""";

    static Settings parse(String[] args) {
        boolean smoke = List.of(args).contains("--smoke");
        List<String> backends = new ArrayList<>();
        Mode mode = Mode.EVENT_LOOP;
        double runSeconds = smoke ? 12 : 600;
        double sampleSeconds = smoke ? 2 : 10;
        int maxConnections = smoke ? 64 : 256;
        int stormExtra = -1;
        int wrkConnections = smoke ? 4 : 8;
        int resetters = 2;
        int tricklers = smoke ? 2 : 4;
        boolean edge = false;
        int acceptThreads = 0;
        Path results = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--smoke")) {
                continue; // seen above: it chose the defaults
            }
            if (a.equals("--edge")) {
                edge = true;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a.startsWith("--") ? a + " needs a value" : "unknown argument " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--minutes" -> runSeconds = positive(a, Double.parseDouble(v)) * 60;
                case "--seconds" -> runSeconds = positive(a, Double.parseDouble(v));
                case "--backend" -> backends.addAll(List.of(v.split(",")));
                case "--sample-seconds" -> sampleSeconds = positive(a, Double.parseDouble(v));
                case "--mode" -> mode = Mode.of(v);
                case "--max-connections" -> maxConnections = (int) positive(a, Integer.parseInt(v));
                case "--storm-extra" -> stormExtra = (int) positive(a, Integer.parseInt(v));
                case "--wrk-connections" -> wrkConnections = (int) positive(a, Integer.parseInt(v));
                case "--resetters" -> resetters = (int) positive(a, Integer.parseInt(v));
                case "--tricklers" -> tricklers = (int) positive(a, Integer.parseInt(v));
                case "--accept-threads" -> acceptThreads = Integer.parseInt(v);
                case "--results" -> results = Path.of(v);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        List<String> here = backendsHere();
        if (backends.isEmpty()) {
            backends.addAll(here);
        }
        for (String b : backends) {
            if (!here.contains(b)) {
                throw new IllegalArgumentException("backend " + b + " does not run here; these do: " + here);
            }
        }
        boolean temporaryResults = smoke && results == null;
        if (temporaryResults) {
            try {
                results = io.polyplex.bench.TemporaryResults.create("polyplex-soak-smoke-");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        } else if (results == null) {
            results = Path.of("benchmarks", "results");
        }
        if (stormExtra < 0) {
            stormExtra = Math.max(4, maxConnections / 8);
        }
        if (backends.contains("select") && maxConnections + stormExtra + wrkConnections + resetters + tricklers > 900) {
            throw new IllegalArgumentException("select watches only fds below 1024: keep --max-connections, the storm's"
                    + " extra and the load under 900 connections in all");
        }
        return new Settings(smoke, backends, mode, runSeconds, sampleSeconds, maxConnections, stormExtra,
                smoke ? 300 : 1000, smoke ? 500 : 3000, wrkConnections, 2, resetters, tricklers, smoke ? 10 : 20, 256,
                128, edge, acceptThreads, 30_000, 10_000, results, temporaryResults);
    }

    private static double positive(String option, double v) {
        if (!(v > 0)) {
            throw new IllegalArgumentException(option + " must be positive");
        }
        return v;
    }

    /** The backends that run on this OS, in the order of the README's table. */
    static List<String> backendsHere() {
        return io.polyplex.bench.Suite.backends();
    }

    /** The class path this JVM runs on (the shaded benchmark jar, which holds the demo too), for the server. */
    private static String ownClassPath() throws URISyntaxException {
        String own = Path.of(Soak.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        String cp = System.getProperty("java.class.path");
        return cp.contains(File.pathSeparator) ? own + File.pathSeparator + cp : own;
    }

    /**
     * Kills {@code child} if this JVM exits first (the soak interrupted by Ctrl-C or killed by a CI
     * timeout), so that no server or wrk outlives it; {@link #forget} the returned hook once the
     * child has ended.
     */
    static Thread killOnExit(Process child) {
        Thread hook = new Thread(child::destroyForcibly, "soak-kill-" + child.pid());
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    static void forget(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already exiting: the hook runs, and kills a process that has ended, which is harmless
        }
    }

    /** Sleeps; an interrupt ends the sleep early and stays set. */
    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
