package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Subscribe, disable, re-subscribe and remove, and the state queries that mirror them; write
 * readiness after back-pressure; a socket with everything disabled never makes a wait spin (Netty
 * #16683, OpenJDK CloseWhenKeyIdle).
 */
public abstract class InterestContract extends ContractBase {

    @Test
    void readableSocketIsReportedWithItsObjectAndBits() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        assertEquals(0, opsNow(p[0]), "readable before anything was written");
        write(p[1], "hello");
        List<SocketEvent<NativeSocketChannel>> events = queue.poll(EVENTUALLY);
        assertEquals(1, events.size(), events.toString());
        assertSame(p[0], events.get(0).socket());
        assertTrue(events.get(0).isReadable());
        assertFalse(events.get(0).isWritable(), "WRITE reported without write interest");
        assertFalse(events.get(0).isPeerClosed());
        assertEquals("hello", readNow(p[0]));
    }

    @Test
    void levelTriggeredReportsAgainUntilRead() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(SocketEvent.READ, opsNow(p[0]) & SocketEvent.READ, "not reported again while unread");
        readNow(p[0]);
        assertEquals(0, opsNow(p[0]), "reported after the data was read");
    }

    @Test
    void writeAndReadWriteSubscriptionsReportTheirBits() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeWrite(p[0]);
        assertEquals(SocketEvent.WRITE, awaitEvent(p[0], SocketEvent.WRITE) & (SocketEvent.READ | SocketEvent.WRITE));
        write(p[1], "x");
        queue.subscribeReadWrite(p[0]);
        awaitEvent(p[0], SocketEvent.READ | SocketEvent.WRITE);
        assertTrue(queue.isSubscribedRead(p[0]) && queue.isSubscribedWrite(p[0]));
    }

    @Test
    void disableStopsEventsAndSubscribeBringsThemBack() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeReadWrite(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ | SocketEvent.WRITE);

        queue.disableRead(p[0]);
        assertTrue(queue.isSubscribedRead(p[0]) && queue.isDisabledRead(p[0]));
        assertFalse(queue.isDisabledWrite(p[0]));
        assertEquals(SocketEvent.WRITE, opsNow(p[0]) & (SocketEvent.READ | SocketEvent.WRITE));

        queue.disableWrite(p[0]);
        assertTrue(queue.isDisabledWrite(p[0]));
        assertEquals(0, queue.poll(Duration.ofMillis(100)).size(), "events while everything is disabled");

        queue.subscribeRead(p[0]);
        assertFalse(queue.isDisabledRead(p[0]));
        assertTrue(queue.isDisabledWrite(p[0]), "re-subscribing read re-enabled write");
        assertEquals(SocketEvent.READ, awaitEvent(p[0], SocketEvent.READ) & (SocketEvent.READ | SocketEvent.WRITE));

        queue.disableReadWrite(p[0]);
        queue.subscribeReadWrite(p[0]);
        awaitEvent(p[0], SocketEvent.READ | SocketEvent.WRITE);
    }

    @Test
    void disableOfADirectionNotSubscribedChangesNothing() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.disableRead(p[0]); // unknown socket: a no-op
        assertFalse(queue.isSubscribedRead(p[0]) || queue.isDisabledRead(p[0]));
        queue.subscribeRead(p[0]);
        queue.disableWrite(p[0]);
        assertFalse(queue.isSubscribedWrite(p[0]) || queue.isDisabledWrite(p[0]));
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
    }

    @Test
    void removeForgetsTheSocket() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeReadWrite(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        queue.remove(p[0]);
        assertFalse(queue.isSubscribedRead(p[0]) || queue.isSubscribedWrite(p[0]));
        assertEquals(0, queue.poll(Duration.ofMillis(100)).size(), "events after remove");
        queue.remove(p[0]); // twice: a no-op
        queue.remove(pair()[0]); // never subscribed: a no-op
        queue.subscribeRead(p[0]); // and it can come back
        awaitEvent(p[0], SocketEvent.READ);
    }

    /** Lesson 3: a hang-up on a socket whose interest is all disabled must not make waits spin. */
    @Test
    void disabledSocketWhosePeerHangsUpDoesNotSpin() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        queue.disableRead(p[0]);
        p[1].close();
        for (int i = 0; i < 3; i++) {
            long start = System.nanoTime();
            List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(200));
            assertEquals(List.of(), events);
            assertTrue(millisSince(start) >= 200, "poll returned early after " + millisSince(start) + " ms");
        }
        queue.subscribeRead(p[0]);
        assertTrue((awaitEvent(p[0], SocketEvent.READ) & SocketEvent.PEER_CLOSED) != 0);
    }

    @Test
    void writeReadinessReturnsAfterAFullSendBufferDrains() throws Exception {
        NativeSocketChannel[] t = tcpPair();
        NativeSocketChannel ours = t[0];
        NativeSocketChannel peer = t[1];
        NativeSockets.setSendBufferSize(ours.getFD(), 4096);
        NativeSockets.setReceiveBufferSize(peer.getFD(), 4096);
        ByteBuffer chunk = ByteBuffer.allocateDirect(64 * 1024);
        long written = 0;
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        int zeroes = 0;
        while (zeroes < 3 && System.nanoTime() < deadline) {
            chunk.clear();
            int n = NativeSockets.send(ours.getFD(), chunk);
            written += n;
            if (n == 0) {
                zeroes++;
                Thread.sleep(20); // let the kernel settle its windows, then confirm it is full
            }
        }
        assertTrue(written > 0 && zeroes == 3, "could not fill the send buffer");
        queue.subscribeWrite(ours);
        assertEquals(0, opsNow(ours) & SocketEvent.WRITE, "WRITE reported while the send buffer is full");
        // Drain the peer until the writer's readiness comes back.
        long read = 0;
        ByteBuffer sink = ByteBuffer.allocateDirect(64 * 1024);
        deadline = System.nanoTime() + EVENTUALLY.toNanos();
        boolean writable = false;
        while (!writable && System.nanoTime() < deadline) {
            sink.clear();
            int n = peer.read(sink);
            read += Math.max(0, n);
            for (SocketEvent<NativeSocketChannel> e : queue.poll(Duration.ofMillis(20))) {
                writable |= e.socket() == ours && e.isWritable();
            }
        }
        assertTrue(writable, "no WRITE event after the peer read " + read + " of " + written + " bytes");
        assertNotEquals(0, read);
    }

    @Test
    void zeroTimeoutNeverBlocks() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        for (int i = 0; i < 1000; i++) {
            assertEquals(0, queue.poll(Duration.ZERO).size());
            assertEquals(0, queue.poll(Duration.ZERO, (s, ops) -> { }));
        }
    }

    @Test
    void aTimeoutIsNeverEarly() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        for (long nanos : new long[] {300_000, 1_000_000, 15_000_000, 250_000_000}) {
            long start = System.nanoTime();
            assertEquals(0, queue.poll(Duration.ofNanos(nanos)).size());
            long waited = System.nanoTime() - start;
            assertTrue(waited >= nanos, "poll(" + nanos + " ns) returned after " + waited + " ns");
        }
        long start = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(250), (s, ops) -> { }));
        assertTrue(System.nanoTime() - start >= 250_000_000L);
    }

    @Test
    void aHugeTimeoutIsAcceptedAndEndsOnEvent() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        assertEquals(1, queue.poll(Duration.ofDays(365 * 1000)).size());
        assertEquals(1, queue.poll(Duration.ofSeconds(Long.MAX_VALUE)).size());
    }
}
