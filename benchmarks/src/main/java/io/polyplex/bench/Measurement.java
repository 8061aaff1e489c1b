package io.polyplex.bench;

/**
 * One number of the suite: a JMH score, a C floor line or a wrk run.
 *
 * @param workload   dispatch, scale, wakeup, churn or e2e
 * @param contender  what was measured ({@code polyplex-epoll}, {@code java.nio}, {@code C epoll}, ...)
 * @param param      the setup ({@code registered=1000}); empty if none
 * @param score      the mean, NaN when refused
 * @param error      JMH's 99.9% half-width or the C floor's standard deviation; NaN if unknown
 * @param unit       ns/event, ns/poll, ns/roundtrip, ns/op or req/s
 * @param bytesPerOp the gc profiler's bytes per operation, NaN if not profiled
 * @param note       why a number is missing (the error a backend gave), or empty
 */
record Measurement(String workload, String contender, String param, double score, double error, String unit,
                   double bytesPerOp, String note) {

    static Measurement refused(String workload, String contender, String param, String unit, String why) {
        return new Measurement(workload, contender, param, Double.NaN, Double.NaN, unit, Double.NaN, why);
    }

    boolean ok() {
        return !Double.isNaN(score);
    }
}
