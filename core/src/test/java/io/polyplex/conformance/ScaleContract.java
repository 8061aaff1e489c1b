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
 * Many sockets: exactly the ready ones are reported, again and again while level-triggered; and
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
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);
        NativeSocketChannel[][] pairs = new NativeSocketChannel[100][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair();
            queue.subscribeRead(pairs[i][0]);
            write(pairs[i][1], "x");
        }
        long[] sink = new long[1];
        io.polyplex.SocketEventHandler<NativeSocketChannel> handler = (s, ops) -> sink[0] += ops;
        for (int i = 0; i < 20_000; i++) { // warm up: let the JIT settle
            queue.poll(Duration.ZERO, handler);
        }
        long tid = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(tid);
        int polls = 10_000;
        for (int i = 0; i < polls; i++) {
            queue.poll(Duration.ZERO, handler);
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        // One 16-byte object per poll would be 160 KB; one per event 16 MB. Allow only JIT noise.
        assertTrue(allocated < 64 * 1024, allocated + " bytes allocated by " + polls + " polls of 100 events");
        assertTrue(sink[0] >= (long) polls * 100 * SocketEvent.READ);
    }
}
