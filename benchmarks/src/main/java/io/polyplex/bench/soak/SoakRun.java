package io.polyplex.bench.soak;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToLongFunction;

/**
 * One soak of one backend: start the server, run every kind of load at once for the run's length
 * while sampling the server, stop the load, check the SIGTERM drain, judge. The result is an
 * {@link Outcome}; {@link SoakReport} turns it into JSON and a chart.
 */
final class SoakRun {

    /** Requests held in flight when SIGTERM is sent, to see the drain finish them. */
    private static final int DRAIN_IN_FLIGHT = 2;

    /**
     * The SIGTERM check: did the server exit within the bound, with status 0, printing its summary,
     * after answering the requests that were in flight ({@code inFlightAnswered} of {@code inFlight})?
     */
    record Drain(boolean exited, int exitCode, double seconds, String stoppedLine, int inFlight, int inFlightAnswered,
                 List<String> problems) {
        boolean pass() {
            return problems.isEmpty();
        }
    }

    /** Everything one run found; {@code failures} empty means it passed. */
    record Outcome(String backend, Soak.Settings settings, Instant started, double seconds, List<String> serverCommand,
                   String probeSources, List<Sample> samples, List<Flatness.Verdict> verdicts, Wrk.Result wrk,
                   List<ClientStats> clients, Drain drain, long wrongBodies, long brokenResponses, long refusals,
                   List<String> failures, List<String> notes) {
        boolean pass() {
            return failures.isEmpty();
        }
    }

    private SoakRun() {
    }

    /** The file names' stem: {@code soak-epoll}, or {@code soak-epoll-<mode>} for a mode other than the event loop. */
    static String stem(String backend, Mode mode) {
        return "soak-" + backend + (mode == Mode.EVENT_LOOP ? "" : "-" + mode.id);
    }

    static Outcome run(Soak.Settings s, String backend, String classPath) throws IOException, InterruptedException {
        Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        String stem = stem(backend, s.mode());
        List<String> command = serverCommand(s, backend, classPath);
        List<String> failures = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<Sample> samples = new ArrayList<>(); // added to by this thread only
        ClientStats resetters = new ClientStats("resetters");
        ClientStats tricklers = new ClientStats("tricklers");
        ClientStats storm = new ClientStats("storm");
        List<ClientStats> clients = List.of(resetters, tricklers, storm);
        Wrk.Result wrkResult;
        Drain drain;
        String sources;
        long start;
        double seconds;
        System.out.printf(Locale.ROOT, "soak %s (%s): %s of load, a sample every %s s%n", backend, s.mode().id,
                duration(s.runSeconds()), Flatness.num(s.sampleSeconds()));
        ServerProcess server = ServerProcess.start(command, Soak.HOST, s.results().resolve(stem + "-server.log"),
                Duration.ofSeconds(30));
        try {
            ProcessProbe probe = new ProcessProbe(server.pid());
            sources = probe.sources();
            InetSocketAddress at = server.address;
            ReentrantLock gate = new ReentrantLock(true);
            start = System.nanoTime();
            sample(probe, at, start, samples, backend);

            // The load: every part at once.
            AtomicBoolean running = new AtomicBoolean(true);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < s.resetters(); i++) {
                threads.add(thread("soak-resetter-" + i, new Resetter(at, resetters, running::get, 1000 + i, s.bigKb(),
                        Soak.RESETTER_PAUSE_MS)));
            }
            for (int i = 0; i < s.tricklers(); i++) {
                threads.add(thread("soak-trickler-" + i, new Trickler(at, tricklers, running::get, 2000 + i,
                        s.trickleMaxPauseMs(), backend)));
            }
            threads.add(thread("soak-storm", new Storm(at, storm, running::get, gate, s.maxConnections(),
                    s.stormExtra(), s.stormHoldMs(), s.stormPauseMs(), s.loadConnections() + 1, backend)));
            String wrkPath = Wrk.find();
            Wrk wrk = null;
            if (wrkPath == null) {
                notes.add("wrk is not installed (Debian: apt-get install wrk): the keep-alive load was skipped");
            } else {
                // A little longer than the run, so that it is still going at the last sample.
                wrk = Wrk.start(wrkPath, at, backend, s.wrkConnections(), s.wrkPauseMs(),
                        (int) Math.ceil(s.runSeconds()) + 2, s.results().resolve(stem + "-wrk.txt"));
            }
            threads.forEach(Thread::start);

            // Sampling, on this thread, between storms (the gate).
            for (int k = 1; ; k++) {
                double due = Math.min(k * s.sampleSeconds(), s.runSeconds());
                long wait = start + (long) (due * 1e9) - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                if (!server.alive()) {
                    failures.add(String.format(Locale.ROOT, "the server exited during the run (status %d, at %.0f s);"
                            + " see %s-server.log", server.process.exitValue(), (System.nanoTime() - start) / 1e9, stem));
                    break;
                }
                gate.lock();
                try {
                    sample(probe, at, start, samples, backend);
                } finally {
                    gate.unlock();
                }
                if (due >= s.runSeconds()) {
                    break;
                }
            }
            seconds = (System.nanoTime() - start) / 1e9;
            running.set(false);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(Http.TIMEOUT_MS / 1000 + 30));
                if (t.isAlive()) {
                    failures.add(t.getName() + " did not stop within " + (Http.TIMEOUT_MS / 1000 + 30)
                            + " s of the end of the load (a request that never completes?)");
                }
            }
            wrkResult = wrk == null ? Wrk.Result.skipped("wrk not installed") : wrk.finish(60);
            drain = server.alive() ? drain(server, s, backend) : new Drain(true, server.process.exitValue(), 0, null, 0,
                    0, List.of("the server was not running at the end of the load"));
            Files.deleteIfExists(s.results().resolve("soak-jcmd-" + server.pid() + ".txt"));
        } finally {
            server.close();
        }

        List<Flatness.Verdict> verdicts = judge(samples, s.runSeconds(), s.loadConnections());
        for (Flatness.Verdict v : verdicts) {
            if (v.judged() && !v.pass()) {
                failures.addAll(v.reasons());
            } else if (!v.judged()) {
                notes.add(v.series() + ": " + v.reasons().get(0));
            }
        }
        long wrong = wrkResult.wrong();
        long broken = 0;
        long refused = wrkResult.refused();
        StringBuilder wrongBy = new StringBuilder("wrk " + wrkResult.wrong());
        List<String> problems = new ArrayList<>();
        if (wrkResult.wrong() > 0) {
            problems.add("wrk, first wrong response: " + wrkResult.firstWrong());
        }
        for (ClientStats c : clients) {
            wrong += c.wrong.get();
            broken += c.broken.get();
            refused += c.refused.get();
            wrongBy.append(", ").append(c.name).append(' ').append(c.wrong.get());
            problems.addAll(c.problems().stream().map(p -> c.name + ": " + p).toList());
        }
        if (wrong > 0) {
            failures.add(wrong + " wrong bodies (" + wrongBy + "); first: " + problems.get(0));
        }
        if (broken > 0) {
            failures.add(broken + " responses never completed for clients that did nothing wrong (end of stream,"
                    + " reset, timeout or refused connect); first: " + problems.stream().filter(p -> p.contains("broken:"))
                    .findFirst().orElse("?"));
        }
        if (wrkResult.ran() && !wrkResult.counted()) {
            failures.add("wrk: " + wrkResult.note() + " (exit status " + wrkResult.exitCode() + ")");
        } else if (wrkResult.ran() && wrkResult.ok() == 0) {
            failures.add("wrk received no correct response");
        }
        if (!wrkResult.socketErrors().isEmpty()) {
            notes.add("wrk: " + wrkResult.socketErrors());
        }
        // Every part of the load must have done its job at least once, or the run proves nothing about it.
        if (resetters.get("resetMidResponse") == 0) {
            failures.add("resetters: no connection was reset mid-response");
        }
        if (tricklers.ok.get() == 0) {
            failures.add("tricklers: no trickled request was answered");
        }
        if (storm.get("bursts") == 0 || storm.get("refusedPastLimit") == 0) {
            failures.add("storm: no burst reached the connection limit and was refused past it");
        }
        if (storm.get("settleTimeouts") > 0) {
            notes.add("storm: " + storm.get("settleTimeouts") + " times the server still held the storm's connections"
                    + " 10 s after they closed");
        }
        boolean statsSeen = samples.stream().anyMatch(x -> x.open() >= 0);
        if (!statsSeen) {
            failures.add("/stats could not be read at any sample");
        }
        for (String p : drain.problems()) {
            failures.add("drain: " + p);
        }
        return new Outcome(backend, s, started, seconds, command, sources, new ArrayList<>(samples), verdicts, wrkResult,
                clients, drain, wrong, broken, refused, failures, notes);
    }

    /** The soak's series and how each is judged (see {@link Flatness} and the constants of {@link Soak}). */
    static List<Flatness.Verdict> judge(List<Sample> samples, double runSeconds, int loadConnections) {
        int allowance = loadConnections + 1 + Soak.FD_SLACK;
        String why = "the load's " + loadConnections + " connections, the /stats probe and " + Soak.FD_SLACK + " slack";
        Flatness.Count connections = new Flatness.Count(allowance, allowance, why);
        return List.of(
                Flatness.judge("fds", "fds", points(samples, Sample::fds), runSeconds, connections),
                Flatness.judge("threads", "threads", points(samples, Sample::threads), runSeconds,
                        new Flatness.Count(Soak.THREAD_ALLOWANCE, Soak.THREAD_ALLOWANCE + Soak.THREADS_STARTED_BY_LOAD,
                                "JVM housekeeping threads started or ended late; above the level before the load also"
                                        + " the demo's 2 workers and the attach listener")),
                Flatness.judge("open connections", "connections", points(samples, Sample::open), runSeconds, connections),
                Flatness.judge("heap after GC", "KiB", points(samples, Sample::heapAfterGcKiB), runSeconds,
                        new Flatness.Size(Soak.SIZE_FRACTION, Soak.HEAP_FLOOR_KIB, Soak.HEAP_LEVEL_KIB)),
                Flatness.judge("RSS", "KiB", points(samples, Sample::rssKiB), runSeconds,
                        new Flatness.Size(Soak.SIZE_FRACTION, Soak.RSS_FLOOR_KIB, Soak.RSS_LEVEL_KIB)));
    }

    private static List<Flatness.Point> points(List<Sample> samples, ToLongFunction<Sample> f) {
        List<Flatness.Point> out = new ArrayList<>();
        for (Sample x : samples) {
            long v = f.applyAsLong(x);
            out.add(new Flatness.Point(x.t(), v < 0 ? Double.NaN : v));
        }
        return out;
    }

    static List<String> serverCommand(Soak.Settings s, String backend, String classPath) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                // A fixed, pre-touched heap: its pages are resident from the start, so RSS measures
                // everything else (code cache, metaspace, native and direct memory), and the heap's
                // own growth is seen in the heap-after-GC series instead.
                "-Xms" + s.heapMb() + "m", "-Xmx" + s.heapMb() + "m", "-XX:+AlwaysPreTouch", "-XX:+UseG1GC",
                // Every GC and JIT thread started up front, none retired when idle: the thread count
                // then moves only with the server's own threads.
                "-XX:+IgnoreUnrecognizedVMOptions", "-XX:-UseDynamicNumberOfGCThreads",
                "-XX:-UseDynamicNumberOfCompilerThreads",
                "-cp", classPath, "io.polyplex.demo.HttpServer", "--host", Soak.HOST, "--port", "0", "--backend", backend,
                "--max-connections", Integer.toString(s.maxConnections()), "--idle-timeout-ms",
                Integer.toString(s.idleTimeoutMs()), "--drain-ms", Integer.toString(s.drainMs())));
        if (s.edge()) {
            cmd.add("--edge");
        }
        if (s.acceptThreads() > 0) {
            cmd.addAll(List.of("--accept-threads", Integer.toString(s.acceptThreads())));
        }
        cmd.addAll(s.mode().serverArgs);
        return cmd;
    }

    private static Thread thread(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void sample(ProcessProbe probe, InetSocketAddress at, long start, List<Sample> samples,
                               String backend) {
        double t = (System.nanoTime() - start) / 1e9;
        long fds = probe.fds(); // before /stats, whose own connection would count
        long threads = probe.threads();
        long rss = probe.rssKiB();
        Map<String, Long> st = Http.stats(at);
        long heap = probe.heapAfterGcKiB();
        if (threads < 0) {
            threads = probe.threads(); // without /proc it comes with the heap reading
        }
        Sample x = new Sample(t, fds, threads, rss, heap, get(st, "open"), get(st, "requests"), get(st, "connections"),
                get(st, "refusedBusy"), get(st, "abortedWrites"), get(st, "cancelledSlow"));
        samples.add(x);
        System.out.printf(Locale.ROOT, "soak %s: t=%4.0f s  fds %s  threads %s  RSS %s  heap after GC %s  open %s"
                        + "  requests %s%n", backend, t, n(fds), n(threads), mib(rss), mib(heap), n(x.open()),
                n(x.requests()));
    }

    private static long get(Map<String, Long> m, String key) {
        return m == null ? -1 : m.getOrDefault(key, -1L);
    }

    private static String n(long v) {
        return v < 0 ? "n/a" : String.format(Locale.ROOT, "%,d", v);
    }

    private static String mib(long kib) {
        return kib < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", kib / 1024.0);
    }

    static String duration(double seconds) {
        return seconds >= 60 ? String.format(Locale.ROOT, "%.3g min", seconds / 60) : Flatness.num(seconds) + " s";
    }

    /**
     * Puts {@value #DRAIN_IN_FLIGHT} slow requests in flight, sends SIGTERM, and checks that the
     * server answers them, prints its summary and exits 0 within {@link Soak#DRAIN_BOUND}.
     */
    private static Drain drain(ServerProcess server, Soak.Settings s, String backend) throws InterruptedException,
            IOException {
        int ms = s.smoke() ? 1000 : 1500;
        byte[] expected = Http.slowBody(ms);
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger ok = new AtomicInteger();
        List<Thread> inFlight = new ArrayList<>();
        for (int i = 0; i < DRAIN_IN_FLIGHT; i++) {
            Thread t = thread("soak-drain-" + i, () -> {
                try (Socket sock = Http.connect(server.address)) {
                    sock.getOutputStream().write(Http.request("/slow?ms=" + ms, true));
                    Http.Response r = Http.read(new BufferedInputStream(sock.getInputStream()));
                    String why = Http.mismatch(r, 200, expected);
                    if (why != null) {
                        problems.add("a request in flight at SIGTERM was answered wrongly: " + why);
                    } else {
                        ok.incrementAndGet();
                    }
                } catch (IOException e) {
                    problems.add("a request in flight at SIGTERM got no answer: " + e);
                }
            });
            inFlight.add(t);
            t.start();
        }
        // SIGTERM only once the server is working on them, so that the drain has something to finish.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean seen = false;
        while (!seen && System.nanoTime() < deadline) {
            Map<String, Long> st = Http.stats(server.address);
            seen = st != null && st.getOrDefault("slowInFlight", 0L) >= DRAIN_IN_FLIGHT;
            if (!seen) {
                Soak.sleep(20);
            }
        }
        if (!seen) {
            problems.add("the server did not report " + DRAIN_IN_FLIGHT + " slow requests in flight within 10 s");
        }
        ServerProcess.Stop stop = server.stop(Soak.DRAIN_BOUND);
        for (Thread t : inFlight) {
            t.join(TimeUnit.SECONDS.toMillis(Http.TIMEOUT_MS / 1000 + 5));
        }
        if (!stop.exited()) {
            problems.add("the server did not exit within " + Soak.DRAIN_BOUND.toSeconds() + " s of SIGTERM (killed)");
        } else if (stop.exitCode() != 0) {
            problems.add("the server exited with status " + stop.exitCode() + " after SIGTERM");
        }
        if (stop.exited() && stop.stoppedLine() == null) {
            problems.add("the server exited without printing its \"stopped:\" summary");
        } else if (stop.stoppedLine() != null && !stop.stoppedLine().contains("unfinishedAtDeadline=0")) {
            problems.add("responses were still unfinished at the drain deadline: " + stop.stoppedLine());
        }
        System.out.printf(Locale.ROOT, "soak %s: SIGTERM with %d requests in flight: exit %s after %.1f s, %d of %d"
                        + " answered; %s%n", backend, DRAIN_IN_FLIGHT, stop.exited() ? stop.exitCode() : "none",
                stop.seconds(), ok.get(), DRAIN_IN_FLIGHT, stop.stoppedLine());
        return new Drain(stop.exited(), stop.exitCode(), stop.seconds(), stop.stoppedLine(), DRAIN_IN_FLIGHT, ok.get(),
                new ArrayList<>(problems));
    }
}
