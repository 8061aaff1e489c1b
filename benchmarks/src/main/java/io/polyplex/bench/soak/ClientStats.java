package io.polyplex.bench.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one kind of load client did, summed over its threads. The three counts the verdict rests on:
 * {@code wrong} (a complete response that is not exactly the one promised), {@code broken} (no
 * complete response where the client did everything right: end of stream, reset, timeout, a
 * refused connect) and {@code refused} (the server's 503 past its connection limit, which is
 * correct). {@code ok} counts exact responses; {@code extra} holds per-kind counts. The first few
 * problems are kept verbatim for the JSON.
 */
final class ClientStats {

    private static final int KEPT_PROBLEMS = 10;

    final String name;
    final AtomicLong iterations = new AtomicLong();
    final AtomicLong ok = new AtomicLong();
    final AtomicLong wrong = new AtomicLong();
    final AtomicLong broken = new AtomicLong();
    final AtomicLong refused = new AtomicLong();
    private final Map<String, AtomicLong> extra = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    private final AtomicInteger kept = new AtomicInteger();

    ClientStats(String name) {
        this.name = name;
    }

    void wrong(String what) {
        wrong.incrementAndGet();
        keep("wrong: " + what);
    }

    void broken(String what) {
        broken.incrementAndGet();
        keep("broken: " + what);
    }

    /** Adds {@code n} to the per-kind count {@code key}. */
    void add(String key, long n) {
        extra.computeIfAbsent(key, k -> new AtomicLong()).addAndGet(n);
    }

    /** Raises the per-kind count {@code key} to {@code n} if it is lower. */
    void max(String key, long n) {
        extra.computeIfAbsent(key, k -> new AtomicLong()).accumulateAndGet(n, Math::max);
    }

    long get(String key) {
        AtomicLong v = extra.get(key);
        return v == null ? 0 : v.get();
    }

    Map<String, Long> extra() {
        Map<String, Long> out = new TreeMap<>();
        extra.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    List<String> problems() {
        return new ArrayList<>(problems);
    }

    private void keep(String what) {
        if (kept.incrementAndGet() <= KEPT_PROBLEMS) {
            problems.add(what);
        }
    }
}
