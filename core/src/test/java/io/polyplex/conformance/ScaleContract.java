package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.Capability;
import io.polyplex.SocketEvent;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Scale: with 1,000 sockets watched (500 socketpairs, both ends) and exactly 100 made readable,
 * exactly those 100 are reported, and a further zero-timeout poll reports the same 100 again, each
 * once (level-triggered); high fd numbers work where {@link Capability#UNLIMITED_FDS} is announced;
 * the hot path (poll and dispatch with a reused handler) allocates nothing in steady state.
 */
public abstract class ScaleContract extends ContractBase {

    /**
     * 1,000 sockets, or as many as fit below FD_SETSIZE for a backend without {@link
     * Capability#UNLIMITED_FDS} (select).
     */
    private int socketCount() {
        if (queue.capabilities().contains(Capability.UNLIMITED_FDS)) {
            return 1000;
        }
        return Math.min(1000, (1024 - openFds() - 16) & ~1);
    }

    @Test
    void exactlyTheReadySocketsAreReported() throws Exception {
        int count = socketCount();
        assertTrue(count >= 500, "too few descriptors free below FD_SETSIZE: " + count);
        NativeSocketChannel[][] pairs = new NativeSocketChannel[count / 2][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair();
            queue.subscribeRead(pairs[i][0]);
            queue.subscribeRead(pairs[i][1]);
        }
        Set<NativeSocketChannel> expected = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            NativeSocketChannel[] p = pairs[i * pairs.length / 100];
            write(p[1], "x");
            expected.add(p[0]);
        }
        Set<NativeSocketChannel> seen = new HashSet<>();
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (seen.size() < expected.size() && System.nanoTime() < deadline) {
            for (SocketEvent<NativeSocketChannel> e : queue.poll(Duration.ofMillis(100))) {
                seen.add(e.socket());
            }
        }
        assertEquals(expected, seen);
        // Level-triggered: one more zero-timeout poll reports the same 100 again, each once.
        Set<NativeSocketChannel> again = new HashSet<>();
        int events = queue.poll(Duration.ZERO, (s, ops) -> again.add(s));
        assertEquals(expected, again);
        assertEquals(100, events);
    }

    @Test
    void pollAndDispatchAllocateNothingInSteadyState() throws Exception {
        NativeSocketChannel[][] pairs = new NativeSocketChannel[100][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair();
            queue.subscribeRead(pairs[i][0]);
            write(pairs[i][1], "x");
        }
        long[] sink = new long[1];
        io.polyplex.SocketEventHandler<NativeSocketChannel> handler = (s, ops) -> sink[0] += ops;
        int polls = 10_000;
        long allocated = allocatedInSteadyState(20_000, polls, () -> queue.poll(Duration.ZERO, handler));
        // One 16-byte object per poll would be 160 KB; one per event 16 MB. Allow only JIT noise.
        assertTrue(allocated < 64 * 1024, allocated + " bytes allocated by " + polls + " polls of 100 events");
        assertTrue(sink[0] >= (long) polls * 100 * SocketEvent.READ);
    }

    /**
     * Interest churn: subscribe, disable, re-subscribe and remove, over and over, allocate nothing
     * once warm (poll and select once allocated per register through jnr-posix's variadic fcntl).
     */
    @Test
    void interestChangesAllocateNothingInSteadyState() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(kernelIsJavaCode(),
                "the emulated kernel is Java test code that allocates; the backend's own change path is checked alone");
        NativeSocketChannel[][] pairs = new NativeSocketChannel[50][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair();
        }
        int rounds = 200;
        long allocated = allocatedInSteadyState(400, rounds, () -> churn(pairs));
        // 40,000 changes: one 16-byte object per change would be 640 KB. Allow only JIT noise.
        assertTrue(allocated < 64 * 1024, allocated + " bytes allocated by " + rounds * pairs.length * 4 + " changes");
    }

    /** One step of an allocation test. */
    private interface Step {
        void run() throws Exception;
    }

    /** Bytes this thread allocates in {@code measured} steps after {@code warmUp} (the JIT settles). */
    private static long allocatedInSteadyState(int warmUp, int measured, Step step) throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);
        for (int i = 0; i < warmUp; i++) {
            step.run();
        }
        long tid = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < measured; i++) {
            step.run();
        }
        return mx.getThreadAllocatedBytes(tid) - before;
    }

    private void churn(NativeSocketChannel[][] pairs) throws Exception {
        for (NativeSocketChannel[] p : pairs) {
            queue.subscribeRead(p[0]);
            queue.disableRead(p[0]);
            queue.subscribeRead(p[0]);
            queue.remove(p[0]);
        }
    }

    /**
     * An fd number above FD_SETSIZE, as high as the process's limit allows (so it runs where the
     * hard limit is 4096 too): watched normally where {@link Capability#UNLIMITED_FDS} is
     * announced, refused with NativeIOException (nothing registered, the queue goes on) where it is
     * not.
     */
    @Test
    void aHighFdNumberIsWatchedOrCleanlyRefused() throws Exception {
        NativeSocketChannel[] p = pair();
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        int start = FdLimit.highStart(1024);
        int high = posix.fcntlInt(p[0].getFD(), jnr.constants.platform.Fcntl.F_DUPFD, start);
        assertTrue(high >= start, "fcntl(F_DUPFD, " + start + ") gave " + high);
        NativeSocketChannel ours = closeLater(new NativeSocketChannel(high));
        if (!queue.capabilities().contains(Capability.UNLIMITED_FDS)) {
            io.polyplex.NativeIOException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.polyplex.NativeIOException.class, () -> queue.subscribeRead(ours));
            assertTrue(e.getMessage().contains("fd=" + high), e.getMessage());
            org.junit.jupiter.api.Assertions.assertFalse(queue.isSubscribedRead(ours));
            queue.subscribeRead(p[0]);
            write(p[1], "x");
            awaitEvent(p[0], SocketEvent.READ);
            return;
        }
        queue.subscribeRead(ours);
        write(p[1], "x");
        assertEquals(SocketEvent.READ, awaitEvent(ours, SocketEvent.READ) & SocketEvent.READ);
        queue.remove(ours);
        assertEquals(0, queue.poll(java.time.Duration.ofMillis(100)).size());
    }
}
