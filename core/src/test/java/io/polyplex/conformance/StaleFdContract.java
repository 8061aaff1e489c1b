package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Sockets closed behind the queue's back: polling goes on for every other socket and never spins
 * (checked with the thread's CPU time), a late remove succeeds; fd reuse never delivers a stale
 * event and never leaks the old socket's state onto the new one, and a late {@code remove(old)} or
 * {@code disableRead(old)} leaves the new socket registered (lesson 2: libuv #826, #971); events
 * still pending in a batch are dropped when a handler removes, closes or disables their socket, also
 * when a new socket takes the fd number in the same handler (lesson 1: mio #219, #464, #1205); a
 * registered listener that is closed releases its port at once (lesson 13). Reuse of an fd number
 * is forced with dup2 onto a high number, which no other thread of the JVM takes in the gap.
 */
public abstract class StaleFdContract extends ContractBase {

    @Test
    void aSocketClosedWithoutRemoveDoesNotHurtTheQueue() throws Exception {
        NativeSocketChannel[] a = pair();
        NativeSocketChannel[] b = pair();
        queue.subscribeRead(a[0]);
        queue.subscribeRead(b[0]);
        write(a[1], "for a");
        a[0].close(); // the EPIPE bug's pattern: closed, never removed
        write(b[1], "for b");
        assertEquals(SocketEvent.READ, awaitEvent(b[0], SocketEvent.READ) & SocketEvent.READ);
        assertEquals("for b", readNow(b[0]));
        for (int i = 0; i < 3; i++) {
            long cpu = cpuNanos();
            long start = System.nanoTime();
            List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(300));
            long wall = System.nanoTime() - start;
            cpu = cpuNanos() - cpu;
            assertEquals(List.of(), events, "events after the closed socket's data was ignored");
            assertTrue(wall >= 300_000_000L, "poll returned early: spinning on the closed fd?");
            assertNoSpin(cpu, wall, "poll(300 ms) with a socket closed behind the queue's back");
        }
        queue.remove(a[0]); // late remove succeeds
        assertTrue(!queue.isSubscribedRead(a[0]));
        write(b[1], "again");
        awaitEvent(b[0], SocketEvent.READ);
    }

    @Test
    void fdReuseNeverDeliversAStaleEventAndALateRemoveKeepsTheNewSocket() throws Exception {
        NativeSocketChannel[] old = highPair(); // so only this test reuses the number once it is closed
        queue.subscribeRead(old[0]);
        write(old[1], "stale");
        int fd = old[0].getFD();
        old[0].close(); // without remove; its readiness is still "pending" in the kernel's eyes
        old[1].close();
        NativeSocketChannel[] fresh = pairOnFd(fd); // a new socket on the same fd number
        NativeSocketChannel reused = fresh[0];
        NativeSocketChannel reusedPeer = fresh[1];
        assertEquals(fd, reused.getFD());
        assertFalse(queue.isSubscribedRead(reused), "the new socket inherited the old one's subscription");
        queue.subscribeRead(reused);
        assertTrue(queue.isSubscribedRead(reused));
        List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(200));
        assertEquals(List.of(), events, "the new socket has no data; the old one must never be reported");

        write(reusedPeer, "fresh");
        int ops = awaitEvent(reused, SocketEvent.READ);
        assertEquals(0, ops & SocketEvent.PEER_CLOSED, "the old socket's state leaked onto the new one");

        assertFalse(queue.isSubscribedRead(old[0]), "the old socket still counts as subscribed");
        queue.remove(old[0]); // late remove of the old socket
        assertTrue(queue.isSubscribedRead(reused), "a late remove(old) removed the new socket");
        List<SocketEvent<NativeSocketChannel>> again = queue.poll(EVENTUALLY);
        assertEquals(1, again.size(), again.toString());
        assertSame(reused, again.get(0).socket());
        assertEquals("fresh", readNow(reused));
        queue.disableRead(old[0]); // a stale disable is a no-op too
        assertFalse(queue.isDisabledRead(reused), "disableRead(old) disabled the new socket");
    }

    /**
     * A channel that says it is closed is refused with ClosedChannelException whether its number is
     * free or already another socket's, and the socket that has the number can be watched as usual.
     */
    @Test
    void aClosedChannelIsRefusedWhetherOrNotItsNumberWasReused() throws Exception {
        NativeSocketChannel[] old = highPair();
        old[0].close();
        org.junit.jupiter.api.Assertions.assertThrows(java.nio.channels.ClosedChannelException.class,
                () -> queue.subscribeRead(old[0]), "number free");
        NativeSocketChannel[] next = pairOnFd(old[0].getFD());
        for (org.junit.jupiter.api.function.Executable e : List.<org.junit.jupiter.api.function.Executable>of(
                () -> queue.subscribeRead(old[0]), () -> queue.subscribeWrite(old[0]),
                () -> queue.subscribeReadWrite(old[0]), () -> queue.subscribe(old[0], SocketEvent.READ, io.polyplex.Trigger.LEVEL))) {
            org.junit.jupiter.api.Assertions.assertThrows(java.nio.channels.ClosedChannelException.class, e, "number reused");
        }
        assertFalse(queue.isSubscribedRead(old[0]));
        queue.subscribeRead(next[0]);
        write(next[1], "mine");
        assertEquals(SocketEvent.READ, awaitEvent(next[0], SocketEvent.READ) & SocketEvent.READ);
    }

    /**
     * Two open channels over one fd: the queue cannot tell whose an event is, so the second is
     * refused, and the first keeps its subscription and its events.
     */
    @Test
    void aSecondOpenChannelOnAWatchedFdIsRefused() throws Exception {
        NativeSocketChannel[] a = pair();
        NativeSocketChannel alias = new NativeSocketChannel(a[0].getFD()); // never closed: a[0] owns the fd
        queue.subscribeRead(a[0]);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> queue.subscribeRead(alias));
        assertTrue(e.getMessage().contains("fd " + a[0].getFD()), e.getMessage());
        assertTrue(queue.isSubscribedRead(a[0]), "the first channel lost its subscription");
        assertFalse(queue.isSubscribedRead(alias));
        write(a[1], "for a");
        List<SocketEvent<NativeSocketChannel>> events = new ArrayList<>();
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (events.isEmpty() && System.nanoTime() < deadline) {
            events.addAll(queue.poll(Duration.ofMillis(200)));
        }
        assertEquals(1, events.size(), "events: " + events);
        assertSame(a[0], events.get(0).socket(), "the event went to the alias");
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
     * Lesson 1 with lesson 2: the handler gets rid of socket B, whose event is still pending in the
     * batch (removing it first, or just closing it), and a new socket takes B's fd number and is
     * subscribed at once. B's pending event must reach neither B nor the newcomer.
     */
    private void assertPendingEventNeverReachesTheNewOwnerOfItsFd(boolean removeFirst) throws Exception {
        // Either may be the victim: both on high numbers, so only this test reuses them once closed.
        NativeSocketChannel[] a = highPair();
        NativeSocketChannel[] b = highPair();
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
            delivered.add((s == a[0] ? "a" : s == b[0] ? "b" : newcomer[0] != null && s == newcomer[0][0]
                    ? "newcomer" : "?") + "(" + SocketEvent.opsToString(ops) + ")");
            if (newcomer[0] != null) {
                return;
            }
            NativeSocketChannel[] victim = s == a[0] ? b : a;
            try {
                int fd = victim[0].getFD();
                if (removeFirst) {
                    queue.remove(victim[0]);
                }
                victim[0].close();
                victim[1].close();
                newcomer[0] = pairOnFd(fd);
                queue.subscribeRead(newcomer[0][0]); // the same fd number, another socket, no data
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        assertEquals(1, delivered.size(), "delivered " + delivered);
        // The newcomer is watched, and only for what happens to it.
        assertTrue(queue.isSubscribedRead(newcomer[0][0]));
        List<SocketEvent<NativeSocketChannel>> next = queue.poll(Duration.ofMillis(100));
        for (SocketEvent<NativeSocketChannel> e : next) {
            assertTrue(e.socket() != newcomer[0][0], "the newcomer got an event with no data: " + next);
        }
        write(newcomer[0][1], "new");
        awaitEvent(newcomer[0][0], SocketEvent.READ);
    }

    @Test
    void aPendingEventNeverReachesTheNewOwnerOfItsFdAfterRemove() throws Exception {
        assertPendingEventNeverReachesTheNewOwnerOfItsFd(true);
    }

    @Test
    void aPendingEventNeverReachesTheNewOwnerOfItsFdAfterCloseWithoutRemove() throws Exception {
        assertPendingEventNeverReachesTheNewOwnerOfItsFd(false);
    }

    /**
     * A handler that disables read of a socket whose read event is pending in the same batch: READ
     * only ever appears for enabled directions, so it is not delivered with READ.
     */
    @Test
    void aHandlerThatDisablesASocketPreventsItsPendingRead() throws Exception {
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
        NativeSocketChannel[] first = new NativeSocketChannel[1];
        queue.poll(EVENTUALLY, (s, ops) -> {
            delivered.add((s == a[0] ? "a" : "b") + "(" + SocketEvent.opsToString(ops) + ")");
            if (first[0] == null) {
                first[0] = s;
                try {
                    queue.disableRead(s == a[0] ? b[0] : a[0]);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            } else {
                assertEquals(0, ops & SocketEvent.READ, "READ delivered for a disabled socket");
            }
        });
        assertEquals(1, delivered.size(), "delivered " + delivered);
        NativeSocketChannel other = first[0] == a[0] ? b[0] : a[0];
        assertTrue(queue.isDisabledRead(other));
        queue.subscribeRead(other);
        awaitEvent(other, SocketEvent.READ);
    }

    /** Lesson 13: a registered listener that is closed releases its port at once. */
    @Test
    void aClosedListenerReleasesItsPortAtOnce() throws Exception {
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
        InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
        io.polyplex.EventQueue<NativeServerSocketChannel> q = openQueue(NativeServerSocketChannel::getFD);
        q.subscribeRead(server);
        closeLater(NativeSockets.connect(at));
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        boolean acceptable = false;
        while (!acceptable && System.nanoTime() < deadline) {
            acceptable = q.poll(Duration.ofMillis(100)).stream().anyMatch(e -> e.socket() == server && e.isReadable());
        }
        assertTrue(acceptable, "the listener was never reported acceptable");
        server.close();
        NativeServerSocketChannel again = closeLater(NativeSockets.listen(at, 8));
        assertEquals(at.getPort(), ((InetSocketAddress) NativeSockets.localAddress(again.getFD())).getPort());
    }
}
