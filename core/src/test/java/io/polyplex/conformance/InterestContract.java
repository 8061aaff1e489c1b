package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
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
 * Interest state: subscribe, disable, re-subscribe and remove per direction, and the state queries
 * (isSubscribed*, isDisabled*) that mirror them; READ and WRITE only for directions subscribed and
 * enabled; level-triggered by default (reported again until read); the list form returns new
 * lists of records with the socket as subscribed; queues are independent; write readiness comes back
 * after a full send buffer drains; a socket with everything disabled never makes a wait spin, even
 * after its peer hangs up (lesson 3: Netty #16683, OpenJDK CloseWhenKeyIdle).
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
    private void assertDisabledHangUpDoesNotSpin(NativeSocketChannel ours, Runnable hangUp, boolean both)
            throws Exception {
        if (both) {
            queue.subscribeReadWrite(ours);
            queue.disableReadWrite(ours);
        } else {
            queue.subscribeRead(ours);
            queue.disableRead(ours);
        }
        hangUp.run();
        for (int i = 0; i < 2; i++) {
            long cpu = cpuNanos();
            long start = System.nanoTime();
            List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(250));
            long wall = System.nanoTime() - start;
            cpu = cpuNanos() - cpu;
            assertEquals(List.of(), events);
            assertTrue(wall >= 250_000_000L, "poll returned early after " + wall / 1_000_000 + " ms");
            assertNoSpin(cpu, wall, "poll(250 ms) with a disabled, hung-up socket");
        }
        assertTrue(queue.isDisabledRead(ours));
        queue.subscribeRead(ours);
        int ops = awaitEvent(ours, SocketEvent.READ);
        assertTrue((ops & (SocketEvent.PEER_CLOSED | SocketEvent.ERROR)) != 0, SocketEvent.opsToString(ops));
    }

    @Test
    void disabledSocketWhosePeerHangsUpDoesNotSpin() throws Exception {
        NativeSocketChannel[] p = pair();
        assertDisabledHangUpDoesNotSpin(p[0], () -> close(p[1]), false);
    }

    @Test
    void disabledReadWriteSocketWhoseTcpPeerResetsDoesNotSpin() throws Exception {
        NativeSocketChannel[] t = tcpPair();
        assertDisabledHangUpDoesNotSpin(t[0], () -> {
            try {
                NativeSockets.abort(t[1]);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, true);
    }

    private static void close(NativeSocketChannel c) {
        try {
            c.close();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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
    void theListFormReturnsANewListOfRecordsEachTime() throws Exception {
        NativeSocketChannel[] a = pair();
        NativeSocketChannel[] b = pair();
        queue.subscribeRead(a[0]);
        queue.subscribeWrite(b[0]);
        write(a[1], "x");
        awaitEvent(a[0], SocketEvent.READ);
        List<SocketEvent<NativeSocketChannel>> first = queue.poll(EVENTUALLY);
        List<SocketEvent<NativeSocketChannel>> copy = List.copyOf(first);
        List<SocketEvent<NativeSocketChannel>> second = queue.poll(EVENTUALLY);
        assertNotSame(first, second);
        assertEquals(copy, first, "the next poll changed the list an earlier poll returned");
        assertEquals(2, second.size(), second.toString());
        for (SocketEvent<NativeSocketChannel> e : second) {
            if (e.socket() == a[0]) {
                assertEquals(SocketEvent.READ, e.readyOps() & (SocketEvent.READ | SocketEvent.WRITE), e.toString());
            } else {
                assertSame(b[0], e.socket());
                assertEquals(SocketEvent.WRITE, e.readyOps() & (SocketEvent.READ | SocketEvent.WRITE), e.toString());
            }
        }
    }

    @Test
    void twoQueuesWatchTheSameSocketIndependently() throws Exception {
        NativeSocketChannel[] p = pair();
        io.polyplex.EventQueue<NativeSocketChannel> other = openQueue(jnr.enxio.channels.NativeSelectableChannel::getFD);
        queue.subscribeRead(p[0]);
        other.subscribeRead(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(1, other.poll(EVENTUALLY).size());
        other.disableRead(p[0]);
        assertTrue(other.isDisabledRead(p[0]) && !queue.isDisabledRead(p[0]));
        awaitEvent(p[0], SocketEvent.READ);
        other.remove(p[0]);
        other.close();
        assertTrue(queue.isSubscribedRead(p[0]));
        awaitEvent(p[0], SocketEvent.READ);
    }

    @Test
    void readAndWriteAreIndependentDirections() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeWrite(p[0]);
        assertTrue(queue.isSubscribedWrite(p[0]) && !queue.isSubscribedRead(p[0]));
        write(p[1], "x");
        int ops = awaitEvent(p[0], SocketEvent.WRITE);
        assertEquals(0, ops & SocketEvent.READ, "READ reported without read interest");
        queue.subscribeRead(p[0]);
        assertTrue(queue.isSubscribedWrite(p[0]), "subscribeRead dropped write");
        queue.disableWrite(p[0]);
        ops = awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, ops & SocketEvent.WRITE, "WRITE reported while disabled");
        queue.disableRead(p[0]);
        queue.subscribeWrite(p[0]);
        assertTrue(queue.isDisabledRead(p[0]) && !queue.isDisabledWrite(p[0]));
        ops = awaitEvent(p[0], SocketEvent.WRITE);
        assertEquals(0, ops & SocketEvent.READ, "READ reported while disabled");
    }
}
