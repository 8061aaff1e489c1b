package io.polyplex.bench.soak;

/**
 * One sampling of the server process and its counters, {@code t} seconds after the load started.
 * -1 is "not available" (an OS without /proc and without the fallback tool, or /stats refused).
 * {@code open} and {@code requests} come from the server's {@code /stats} line (open connections
 * at that moment, requests answered so far).
 */
record Sample(double t, long fds, long threads, long rssKiB, long heapAfterGcKiB, long open, long requests,
              long connections, long refusedBusy, long abortedWrites, long cancelledSlow) {
}
