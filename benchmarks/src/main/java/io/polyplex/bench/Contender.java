package io.polyplex.bench;

import java.io.IOException;

/**
 * One multiplexer under test (a Polyplex backend or a peer), reduced to what the workloads do with
 * it, so every workload runs the same code path against every contender. It owns its sockets:
 * {@code pairs} connected AF_UNIX stream pairs, both ends of which count as watchable endpoints
 * ({@code 2 * pairs} of them, so N watched endpoints cost exactly N fds, as in the C floor).
 *
 * <p>Single-threaded except {@link #wakeup()}, which any thread may call.
 */
abstract class Contender implements AutoCloseable {

    /** Sum of the ops of every event handled: the handlers' only side effect. */
    long sink;

    /** Number of endpoints (both ends of every pair). */
    abstract int endpoints();

    /** Watches endpoint {@code i} for reading (level-triggered). */
    abstract void subscribe(int i) throws IOException;

    /** Stops reporting endpoint {@code i} while keeping it known (disable / interestOps(0)). */
    abstract void disable(int i) throws IOException;

    /** Forgets endpoint {@code i}. */
    abstract void remove(int i) throws IOException;

    /** Makes endpoint {@code i} readable for good: one byte written by its peer, never read. */
    abstract void makeReadable(int i) throws IOException;

    /** One wait that does not block, every ready event handed to a handler; returns their number. */
    abstract int pollNow() throws IOException;

    /** Blocks until {@link #wakeup()} (or an event); returns the number of events handled. */
    abstract int pollUntilWoken() throws IOException;

    /** Interrupts a (current or the next) {@link #pollUntilWoken()}. */
    abstract void wakeup();

    /** Makes changes reach the kernel where the contender defers them (java.nio); else nothing. */
    void applyChanges() throws IOException {
    }

    @Override
    public abstract void close() throws IOException;

    /**
     * A contender by name: a Polyplex backend name, {@code nio}, {@code enxio}, or {@code
     * selector-BACKEND} (Polyplex's java.nio Selector on that backend, over jnr-enxio channels).
     */
    static Contender open(String name, int pairs) throws IOException {
        if (name.startsWith(SELECTOR)) {
            return JnrSelectorContender.polyplex(name.substring(SELECTOR.length()), pairs);
        }
        return switch (name) {
            case "nio" -> new NioContender(pairs);
            case "enxio" -> JnrSelectorContender.enxio(pairs);
            default -> new PolyplexContender(name, pairs);
        };
    }

    /** The prefix of a Polyplex Selector contender's name. */
    static final String SELECTOR = "selector-";

    /** {@code k} endpoints made readable, spread evenly over the pairs (the odd end of each). */
    static void makeReadable(Contender c, int k) throws IOException {
        int pairs = c.endpoints() / 2;
        for (int j = 0; j < k; j++) {
            int pair = (int) ((long) j * pairs / k);
            c.makeReadable(2 * pair + 1);
        }
    }
}
