package io.polyplex.bench.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What "flat after warm-up" means, in one place: the soak passes a sample series only when this
 * class says so, the JSON quotes {@link #describe} and the self-check runs synthetic series through
 * {@link #judge} to show that a leak fails.
 *
 * <p><b>Warm-up.</b> The first {@link #warmupSeconds 20% of the run (at least 60 s, at most half of
 * it)} are dropped: class loading, JIT compilation, the first connections of every client, the
 * attach listener jcmd starts and the G1 threads started on first use all happen there. At least
 * {@link #MIN_SAMPLES} samples must remain, or the series fails (too short a run proves nothing).
 *
 * <p>Over what remains, a line is fitted by Theil-Sen ({@link #theilSenSlope}: the median of the
 * slopes between every pair of samples); its <em>growth</em> is its slope times the window (first
 * to last remaining sample). A slope rather than last minus first, and a median rather than least
 * squares, because one sample taken at a busy moment must not decide the verdict.
 *
 * <ul>
 *   <li><b>Counts</b> (open fds, threads, open connections): max - min &le; the allowance and growth
 *       &le; half the allowance. The allowance is what the load itself can make the count move by:
 *       samples are taken between connection storms (the storm waits), but the keep-alive, reset and
 *       trickle clients connect and disconnect all the time, so at any sample each may or may not
 *       hold its connection; plus a small slack (see {@link Soak}).
 *   <li><b>Sizes</b> (heap after a full GC, RSS): growth &le; max(10% of the mean, a fixed floor).
 *       The floor keeps a small heap's noise (a 264 KiB response in flight at the moment of the GC)
 *       from failing it; 10% of the mean keeps RSS, whose level depends on the JVM, from needing a
 *       machine-specific number.
 *   <li><b>Level</b>, for both: the series after warm-up (a count's max, a size's mean) may sit
 *       above the first sample, taken before any load, by at most a fixed amount. Without it, a leak
 *       fast enough to reach a limit during warm-up (the fd limit, a full heap) would look flat
 *       afterwards: the self-check found exactly that.
 * </ul>
 *
 * <p><b>Why these catch a per-request leak.</b> The keep-alive load alone makes about 3,400
 * requests per second here (a busy 2-core VM; 425,000 in a 2-minute run), so the 8-minute window of
 * a 10-minute run holds over 1.5 million. One fd per request reaches the fd limit (20,000 here) in
 * about 6 s: the fd series then sits thousands above its level before the load, against an
 * allowance of a few dozen (and the server, unable to accept, breaks responses). 1 KiB per request
 * fills the 128 MiB heap in about 40 s: the heap after GC sits far above its level before the load
 * (32 MiB allowed), and the server soon dies of OutOfMemoryError, which fails the run too; off-heap,
 * RSS grows by 3 MiB a second against 16-25 MiB allowed over the whole window. The thresholds reach
 * much further down: 16 bytes per request (22 MiB of heap over a 10-minute run's window) fails, as
 * does a leak per <em>connection</em> (storms, resets and trickles open dozens per second), and an fd
 * leak of 3 a minute (one per 60,000 requests). {@link SelfCheck} runs each of these. The JSON
 * states, per series, the smallest steady leak the growth limit is sure to catch in that run
 * ({@link Verdict#sensitivity}).
 */
final class Flatness {

    /** Below this many samples after the warm-up a series fails: a line through fewer means nothing. */
    static final int MIN_SAMPLES = 4;

    private Flatness() {
    }

    /** The part of a run of {@code runSeconds} that is warm-up: 20% of it, at least 60 s, never more than half. */
    static double warmupSeconds(double runSeconds) {
        return Math.min(Math.max(0.2 * runSeconds, 60), 0.5 * runSeconds);
    }

    /** How one series is judged. */
    sealed interface Criterion permits Count, Size {
    }

    /**
     * A count that must stay within {@code allowance} (max - min) and grow by at most half of it
     * over the window, and whose max after warm-up may exceed the baseline (the sample taken before
     * any load) by at most {@code levelAllowance}; {@code why} says where the allowances come from.
     */
    record Count(double allowance, double levelAllowance, String why) implements Criterion {
    }

    /**
     * A size in KiB whose growth over the window must stay within max(fraction x mean, floorKiB),
     * and whose mean after warm-up may exceed the baseline by at most {@code levelKiB}.
     */
    record Size(double fractionOfMean, double floorKiB, double levelKiB) implements Criterion {
    }

    /** One sample of one series: seconds since the load started, and the value (NaN: not available). */
    record Point(double t, double value) {
    }

    /**
     * The verdict on one series, with every number it rests on. {@code judged} false: the series
     * could not be sampled on this OS (then it neither passes nor fails the run). {@code fitStart}
     * and {@code fitEnd} are the fitted line's values at the window's ends (for the chart).
     */
    record Verdict(String series, String unit, String rule, boolean judged, boolean pass, List<String> reasons,
                   int samples, int samplesJudged, double warmupSeconds, double windowStart, double windowEnd,
                   double min, double max, double mean, double slopePerMinute, double growth, double rangeLimit,
                   double growthLimit, double baseline, double level, double levelLimit, double fitStart, double fitEnd,
                   String sensitivity) {
    }

    /** Judges {@code points} (in time order) of a run of {@code runSeconds} by {@code criterion}. */
    static Verdict judge(String series, String unit, List<Point> points, double runSeconds, Criterion criterion) {
        double warmup = warmupSeconds(runSeconds);
        String rule = describe(criterion, unit);
        List<Point> available = new ArrayList<>();
        List<Point> window = new ArrayList<>();
        for (Point p : points) {
            if (!Double.isNaN(p.value())) {
                available.add(p);
                if (p.t() >= warmup) {
                    window.add(p);
                }
            }
        }
        List<String> reasons = new ArrayList<>();
        if (available.isEmpty()) {
            return new Verdict(series, unit, rule, false, true, List.of("not available on this OS: not judged"),
                    points.size(), 0, warmup, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, "");
        }
        if (window.size() < MIN_SAMPLES) {
            reasons.add(String.format(Locale.ROOT, "%s: only %d samples after the %.0f s warm-up (need %d): run longer"
                    + " or sample more often", series, window.size(), warmup, MIN_SAMPLES));
            return new Verdict(series, unit, rule, true, false, reasons, points.size(), window.size(), warmup, Double.NaN,
                    Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, "");
        }
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        for (Point p : window) {
            min = Math.min(min, p.value());
            max = Math.max(max, p.value());
            sum += p.value();
        }
        int n = window.size();
        double mean = sum / n;
        double slope = theilSenSlope(window); // per second
        double start = window.get(0).t();
        double end = window.get(n - 1).t();
        double span = end - start;
        double growth = slope * span;
        double intercept = theilSenIntercept(window, slope);
        double fitStart = intercept + slope * start;
        double fitEnd = intercept + slope * end;
        // The first sample is the baseline: taken before the load starts (t = 0).
        Point first = available.get(0);
        double baseline = first.t() < warmup ? first.value() : Double.NaN;
        double rangeLimit;
        double growthLimit;
        double levelLimit;
        double level;
        String sensitivity;
        if (criterion instanceof Count c) {
            rangeLimit = c.allowance();
            growthLimit = c.allowance() / 2;
            if (max - min > rangeLimit) {
                reasons.add(String.format(Locale.ROOT, "%s: moved by %s %s after warm-up (%s..%s), more than the %s the"
                        + " load explains", series, num(max - min), unit, num(min), num(max), num(rangeLimit)));
            }
            levelLimit = c.levelAllowance();
            level = max - baseline;
            sensitivity = String.format(Locale.ROOT, "a steady leak of more than %s %s/min fails (growth over the"
                    + " %.0f s window above %s)", num(growthLimit / span * 60), unit, span, num(growthLimit));
        } else {
            Size s = (Size) criterion;
            rangeLimit = Double.NaN;
            growthLimit = Math.max(s.fractionOfMean() * mean, s.floorKiB());
            levelLimit = s.levelKiB();
            level = mean - baseline;
            sensitivity = String.format(Locale.ROOT, "a steady leak of more than %s KiB/min fails (growth over the"
                    + " %.0f s window above %s KiB)", num(growthLimit / span * 60), span, num(growthLimit));
        }
        if (level > levelLimit) {
            reasons.add(String.format(Locale.ROOT, "%s: %s %s above its level before the load (%s) after warm-up, more"
                    + " than the %s allowed (a leak that hit a limit during warm-up would look flat afterwards)", series,
                    num(level), unit, num(baseline), num(levelLimit)));
        }
        if (growth > growthLimit) {
            reasons.add(String.format(Locale.ROOT, "%s: grew by %s %s over the %.0f s after warm-up (Theil-Sen slope"
                    + " %s %s/min), more than the %s allowed", series, num(growth), unit, span, num(slope * 60), unit,
                    num(growthLimit)));
        }
        return new Verdict(series, unit, rule, true, reasons.isEmpty(), reasons, points.size(), n, warmup, start, end,
                min, max, mean, slope * 60, growth, rangeLimit, growthLimit, baseline, level, levelLimit, fitStart, fitEnd,
                sensitivity);
    }

    /**
     * The Theil-Sen slope: the median of the slopes between every pair of samples. Unlike a
     * least-squares line, one odd sample (the JIT's arena memory held at the moment of an RSS
     * reading, a response in flight at a forced GC) cannot tilt it, and a step that happens once
     * (a pool growing to its size) moves it little; a steady leak tilts every pair alike, so its rate
     * is measured exactly.
     */
    static double theilSenSlope(List<Point> points) {
        List<Double> slopes = new ArrayList<>();
        for (int i = 0; i < points.size(); i++) {
            for (int j = i + 1; j < points.size(); j++) {
                double dt = points.get(j).t() - points.get(i).t();
                if (dt > 0) {
                    slopes.add((points.get(j).value() - points.get(i).value()) / dt);
                }
            }
        }
        return median(slopes);
    }

    /** The line's value at t = 0 for {@code slope}: the median of value - slope x t. */
    static double theilSenIntercept(List<Point> points, double slope) {
        List<Double> xs = new ArrayList<>();
        for (Point p : points) {
            xs.add(p.value() - slope * p.t());
        }
        return median(xs);
    }

    private static double median(List<Double> xs) {
        if (xs.isEmpty()) {
            return 0;
        }
        xs.sort(null);
        int n = xs.size();
        return n % 2 == 1 ? xs.get(n / 2) : (xs.get(n / 2 - 1) + xs.get(n / 2)) / 2;
    }

    /** The rule for one criterion, in words (for the JSON and the chart). */
    static String describe(Criterion criterion, String unit) {
        if (criterion instanceof Count c) {
            return String.format(Locale.ROOT, "after warm-up: max - min <= %s, growth over the window"
                    + " <= %s, and max - the sample before the load <= %s (%s)", num(c.allowance()),
                    num(c.allowance() / 2), num(c.levelAllowance()), c.why());
        }
        Size s = (Size) criterion;
        return String.format(Locale.ROOT, "after warm-up: growth over the window <= max(%.0f%% of the"
                + " mean, %s %s), and mean - the sample before the load <= %s %s", s.fractionOfMean() * 100,
                num(s.floorKiB()), unit, num(s.levelKiB()), unit);
    }

    /** The warm-up rule in words. */
    static String describeWarmup() {
        return "the first 20% of the run (at least 60 s, at most half of the run) is warm-up and not judged; at"
                + " least " + MIN_SAMPLES + " samples must remain";
    }

    static String num(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return String.format(Locale.ROOT, "%d", (long) v);
        }
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
