package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Sockets closed behind the queue's back (the first report in the brief): polling goes on, nothing
 * spins, a late remove succeeds, fd reuse never delivers a stale event (libuv #826, #971), and
 * events still pending in a batch are dropped when a handler removes or closes their socket (mio
 * #219, #464, #1205).
 */
public abstract class StaleFdContract extends ContractBase {

    @Test
    void aSocketClosedWithoutRemoveDoesNotHurtTheQueue() throws Exception {
        NativeSocketChannel[] a = pair();
        NativeSocketChannel[] b = pair();
        queue.subscribeRead(a[0]);
        queue.subscribeRead(b[0]);
        write(a[1], "for a");
        a[0].close(); // the EPIPE report's pattern: closed, never removed
        write(b[1], "for b");
        assertEquals(SocketEvent.READ, awaitEvent(b[0], SocketEvent.READ) & SocketEvent.READ);
        assertEquals("for b", readNow(b[0]));
        for (int i = 0; i < 3; i++) {
            long start = System.nanoTime();
            List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(200));
            assertEquals(List.of(), events, "events after the closed socket's data was ignored");
            assertTrue(millisSince(start) >= 200, "poll returned early: spinning on the closed fd?");
        }
        queue.remove(a[0]); // late remove succeeds
        assertTrue(!queue.isSubscribedRead(a[0]));
        write(b[1], "again");
        awaitEvent(b[0], SocketEvent.READ);
    }

    @Test
    void fdReuseNeverDeliversAStaleEventAndALateRemoveKeepsTheNewSocket() throws Exception {
        NativeSocketChannel[] old = pair();
        queue.subscribeRead(old[0]);
        write(old[1], "stale");
        int fd = old[0].getFD();
        old[0].close(); // without remove; its readiness is still "pending" in the kernel's eyes
        old[1].close();
        NativeSocketChannel[] fresh = pair(); // lowest free numbers: most likely fd again
        NativeSocketChannel reused = fresh[0].getFD() == fd ? fresh[0] : fresh[1].getFD() == fd ? fresh[1] : null;
        assumeTrue(reused != null, "the OS did not reuse fd " + fd);
        NativeSocketChannel reusedPeer = reused == fresh[0] ? fresh[1] : fresh[0];
        queue.subscribeRead(reused);
        assertTrue(queue.isSubscribedRead(reused));
        List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(200));
        assertEquals(List.of(), events, "the new socket has no data; the old one must never be reported");

        write(reusedPeer, "fresh");
        int ops = awaitEvent(reused, SocketEvent.READ);
        assertEquals(0, ops & SocketEvent.PEER_CLOSED, "the old socket's state leaked onto the new one");

        queue.remove(old[0]); // late remove of the old socket
        assertTrue(queue.isSubscribedRead(reused), "a late remove(old) removed the new socket");
        assertSame(reused, queue.poll(EVENTUALLY).get(0).socket());
        assertEquals("fresh", readNow(reused));
    }

    @Test
    void removeAfterTheCallerClosedTheFdSucceeds() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeReadWrite(p[0]);
        p[0].close();
        queue.remove(p[0]);
        assertTrue(!queue.isSubscribedRead(p[0]) && !queue.isSubscribedWrite(p[0]));
        NativeSocketChannel[] q = pair();
        queue.subscribeRead(q[0]);
        write(q[1], "x");
        awaitEvent(q[0], SocketEvent.READ);
    }

    private void assertHandlerPreventsPendingDelivery(boolean close) throws Exception {
        NativeSocketChannel[] a = pair();
        NativeSocketChannel[] b = pair();
        queue.subscribeRead(a[0]);
        queue.subscribeRead(b[0]);
        write(a[1], "a");
        write(b[1], "b");
        // Wait until both are ready in one batch: a zero poll that sees both, without consuming.
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (queue.poll(Duration.ZERO).size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        List<NativeSocketChannel> delivered = new ArrayList<>();
        int n = queue.poll(EVENTUALLY, (s, ops) -> {
            delivered.add(s);
            NativeSocketChannel other = s == a[0] ? b[0] : a[0];
            try {
                if (close) {
                    other.close();
                } else {
                    queue.remove(other);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertEquals(1, n, "delivered " + delivered);
        assertEquals(1, delivered.size());
    }

    @Test
    void aHandlerThatRemovesASocketPreventsItsPendingEvent() throws Exception {
        assertHandlerPreventsPendingDelivery(false);
    }

    @Test
    void aHandlerThatClosesASocketPreventsItsPendingEvent() throws Exception {
        assertHandlerPreventsPendingDelivery(true);
    }

    /**
     * Lesson 1 with lesson 2: the handler removes and closes socket B, whose event is still pending
     * in the batch, and a new socket takes B's fd number and is subscribed at once. B's pending
     * event must reach neither B nor the newcomer.
     */
    @Test
    void aPendingEventNeverReachesTheNewOwnerOfItsFd() throws Exception {
        NativeSocketChannel[] a = pair();
        NativeSocketChannel[] b = pair();
        queue.subscribeRead(a[0]);
        queue.subscribeRead(b[0]);
        write(a[1], "a");
        write(b[1], "b");
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (queue.poll(Duration.ZERO).size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        List<String> delivered = new ArrayList<>();
        NativeSocketChannel[][] newcomer = new NativeSocketChannel[1][];
        queue.poll(EVENTUALLY, (s, ops) -> {
            delivered.add(s == a[0] ? "a" : s == b[0] ? "b" : "newcomer");
            if (newcomer[0] != null) {
                return;
            }
            NativeSocketChannel[] victim = s == a[0] ? b : a;
            try {
                int fd = victim[0].getFD();
                queue.remove(victim[0]);
                victim[0].close();
                victim[1].close();
                newcomer[0] = pair();
                NativeSocketChannel reused = newcomer[0][0].getFD() == fd ? newcomer[0][0]
                        : newcomer[0][1].getFD() == fd ? newcomer[0][1] : null;
                assumeTrue(reused != null, "fd " + fd + " was not reused");
                queue.subscribeRead(reused); // the same fd number, now another socket, with no data
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertEquals(1, delivered.size(), "delivered " + delivered);
    }

    /** Lesson 13: a registered listener that is closed releases its port at once. */
    @Test
    void aClosedListenerReleasesItsPortAtOnce() throws Exception {
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
        InetSocketAddress at = NativeSockets.localAddress(server.getFD());
        io.polyplex.EventQueue<NativeServerSocketChannel> q = openQueue(NativeServerSocketChannel::getFD);
        q.subscribeRead(server);
        q.poll(Duration.ZERO);
        server.close();
        NativeServerSocketChannel again = closeLater(NativeSockets.listen(at, 8));
        assertEquals(at.getPort(), NativeSockets.localAddress(again.getFD()).getPort());
    }
}
