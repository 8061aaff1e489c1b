package io.polyplex.bench.soak;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;

/**
 * Proof that the soak's judge can fail ({@code soak --self-check}, and a unit test): synthetic
 * series shaped like a healthy server's, and like servers that leak, go through {@link Flatness}
 * with the soak's own allowances, and each verdict is compared with the expected one.
 *
 * <p>The load is modelled on a 10-minute run on a busy 2-core VM: 3,000 requests/s (wrk's share),
 * a sample every 10 s, the full run's 14 steady connections (so an fd allowance of 23), a heap
 * whose live set is about 6 MiB and an RSS of about 220 MiB. Noise is seeded, so every run of the
 * self-check sees the same series.
 */
final class SelfCheck {

    /** One synthetic series and the verdict it must get. */
    record Case(String name, String series, double runSeconds, double everySeconds, DoubleUnaryOperator valueAt,
                boolean expectPass) {
    }

    private static final double RPS = 3000;
    private static final int LOAD = 14; // wrk 8 + resetters 2 + tricklers 4, as in a full run
    private static final double MIB = 1024;

    private SelfCheck() {
    }

    static List<Case> cases() {
        Random r = new Random(42);
        double run = 600;
        double every = 10;
        List<Case> c = new ArrayList<>();
        // fds: base 30 (JVM, listener, queue), wrk's 8 always open, the other 6 clients open or not.
        c.add(new Case("fds flat, each transient client open or not", "fds", run, every,
                t -> 30 + 8 + r.nextInt(7), true));
        c.add(new Case("fds flat with one late JVM fd and a lingering close", "fds", run, every,
                t -> 30 + 8 + r.nextInt(7) + (t > 300 ? 1 : 0) + (t == 400 ? 3 : 0), true));
        c.add(new Case("fds +1 per request (hits the 20,000 fd limit)", "fds", run, every,
                t -> Math.min(38 + RPS * t, 20_000), false));
        c.add(new Case("fds +1 per connection storm (one burst every 6 s)", "fds", run, every,
                t -> 38 + r.nextInt(7) + Math.floor(t / 6), false));
        c.add(new Case("fds +3 a minute (1 per 60,000 requests)", "fds", run, every,
                t -> 38 + r.nextInt(7) + Math.floor(t / 20), false));
        c.add(new Case("threads flat, attach listener and GC threads started in warm-up", "threads", run, every,
                t -> t < 30 ? 24 : 27, true));
        c.add(new Case("threads +1 per 100 connections (20 connections/s)", "threads", run, every,
                t -> 27 + Math.floor(t * 20 / 100), false));
        c.add(new Case("threads +1 every 2 minutes", "threads", run, every, t -> 27 + Math.floor(t / 120), false));
        c.add(new Case("heap after GC flat at 6 MiB, +-1 MiB of responses in flight", "heap after GC", run, every,
                t -> 6 * MIB + r.nextInt(1024) - 512 + (r.nextInt(4) == 0 ? 528 : 0), true));
        c.add(new Case("heap after GC flat, one +20 MiB outlier at the last sample", "heap after GC", run, every,
                t -> 6 * MIB + r.nextInt(512) + (t == 600 ? 20 * MIB : 0), true));
        c.add(new Case("heap after GC +1 KiB per request (reaches the 128 MiB heap)", "heap after GC", run, every,
                t -> Math.min(6 * MIB + RPS * t, 128 * MIB), false));
        c.add(new Case("heap after GC +16 B per request (22 MiB over the window)", "heap after GC", run, every,
                t -> 6 * MIB + RPS * t * 16 / 1024 + r.nextInt(512), false));
        c.add(new Case("RSS ramps in warm-up, then flat +-4 MiB", "RSS", run, every,
                t -> (t < 90 ? 180 + 40 * t / 90 : 220) * MIB + r.nextInt(8192) - 4096, true));
        c.add(new Case("RSS creeps 6 MiB over the run (code cache)", "RSS", run, every,
                t -> (220 + 6 * t / run) * MIB + r.nextInt(2048), true));
        c.add(new Case("RSS flat, +25 MiB of JIT arenas held at the last sample", "RSS", run, every,
                t -> 220 * MIB + r.nextInt(4096) + (t == 600 ? 25 * MIB : 0), true));
        c.add(new Case("RSS in 4 MiB steps every minute (a staircase, 32 MiB over the window)", "RSS", run, every,
                t -> (220 + 4 * Math.floor(t / 60)) * MIB + r.nextInt(1024), false));
        c.add(new Case("RSS +1 KiB per request off-heap", "RSS", run, every, t -> 220 * MIB + RPS * t, false));
        c.add(new Case("RSS +100 B per request off-heap (47 MiB over the window)", "RSS", run, every,
                t -> 220 * MIB + RPS * t * 100 / 1024 + r.nextInt(4096), false));
        // The smoke run's shape: 12 s, a sample every 2 s, so the judge is not too tight for CI.
        c.add(new Case("smoke-sized: fds flat over 12 s, a sample every 2 s", "fds", 12, 2,
                t -> 20 + 4 + r.nextInt(5), true));
        c.add(new Case("smoke-sized: RSS still settling by 3 MiB", "RSS", 12, 2,
                t -> (200 + 3 * t / 12) * MIB, true));
        c.add(new Case("smoke-sized: RSS +25 MiB of JIT arenas held at the last sample", "RSS", 12, 2,
                t -> 200 * MIB + (t == 12 ? 25 * MIB : 0), true));
        c.add(new Case("smoke-sized: fds +1 per request", "fds", 12, 2, t -> 24 + RPS * t, false));
        c.add(new Case("too few samples after warm-up (12 s run, one every 5 s)", "heap after GC", 12, 5,
                t -> 6 * MIB, false));
        return c;
    }

    /** The verdict of one case, judged as the soak judges that series. */
    static Flatness.Verdict verdict(Case c) {
        List<Sample> samples = new ArrayList<>();
        for (double t = 0; t <= c.runSeconds() + 1e-9; t += c.everySeconds()) {
            long v = Math.round(c.valueAt().applyAsDouble(t));
            boolean fds = c.series().equals("fds");
            boolean threads = c.series().equals("threads");
            boolean heap = c.series().equals("heap after GC");
            boolean rss = c.series().equals("RSS");
            samples.add(new Sample(t, fds ? v : 40, threads ? v : 27, rss ? v : 220 * 1024, heap ? v : 6 * 1024,
                    LOAD, (long) (RPS * t), 0, 0, 0, 0));
        }
        for (Flatness.Verdict v : SoakRun.judge(samples, c.runSeconds(), LOAD)) {
            if (v.series().equals(c.series())) {
                return v;
            }
        }
        throw new IllegalArgumentException("no series " + c.series());
    }

    /** Judges every case, prints one line each, and returns whether every verdict was the expected one. */
    static boolean run(PrintStream out) {
        out.println("soak self-check: the flatness judge on synthetic series (10-minute run, 3,000 requests/s, a sample"
                + " every 10 s unless said otherwise)");
        out.println("  " + Flatness.describeWarmup());
        boolean all = true;
        for (Case c : cases()) {
            Flatness.Verdict v = verdict(c);
            boolean asExpected = v.pass() == c.expectPass();
            all &= asExpected;
            out.printf(Locale.ROOT, "  %-10s %-5s (expected %-4s) %s%s%n", asExpected ? "ok" : "UNEXPECTED",
                    v.pass() ? "pass" : "FAIL", c.expectPass() ? "pass" : "fail", c.name(),
                    v.reasons().isEmpty() ? "" : "\n             " + String.join("\n             ", v.reasons()));
        }
        out.println(all ? "soak self-check: every verdict as expected" : "soak self-check: FAILED");
        return all;
    }
}
