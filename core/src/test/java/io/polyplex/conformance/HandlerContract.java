package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.EventQueue;
import io.polyplex.NativeIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Promises of {@code EventQueue}'s Javadoc about the caller's objects and handlers: sockets are
 * compared by identity, not {@code equals}; a handler that throws drops the rest of its batch, and
 * the next poll reports what is still ready; nothing is released while a handler is still inside
 * {@code poll}, even if another thread closes the queue; a call that changes nothing makes no system
 * call, so it does not notice a closed fd.
 */
public abstract class HandlerContract extends ContractBase {

    /** A caller's socket whose equals says every other one is the same: only identity tells them apart. */
    static final class AllEqual {
        final NativeSocketChannel channel;

        AllEqual(NativeSocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof AllEqual;
        }

        @Override
        public int hashCode() {
            return 0;
        }
    }

    @Test
    void socketsAreComparedByIdentityNotEquals() throws Exception {
        EventQueue<AllEqual> q = openQueue((AllEqual s) -> s.channel.getFD());
        NativeSocketChannel[] p = pair();
        NativeSocketChannel[] r = pair();
        AllEqual a = new AllEqual(p[0]);
        AllEqual other = new AllEqual(r[0]);
        AllEqual twin = new AllEqual(p[0]); // equal to a, same fd, another object
        q.subscribeRead(a);
        assertFalse(q.isSubscribedRead(other), "an equal object on another fd counted as subscribed");
        assertFalse(q.isSubscribedRead(twin), "an equal object on the same fd counted as subscribed");
        q.remove(other); // not known: a no-op, whatever equals says
        q.remove(twin);
        assertTrue(q.isSubscribedRead(a), "removing an equal object removed the subscribed one");
        write(p[1], "x");
        assertSame(a, q.poll(EVENTUALLY).get(0).socket(), "the event carries another object than the subscribed one");
    }

    @Test
    void aThrowingHandlerDropsTheRestOfItsBatchAndTheNextPollReportsIt() throws Exception {
        List<NativeSocketChannel> ours = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            NativeSocketChannel[] p = pair();
            queue.subscribeRead(p[0]);
            write(p[1], "x");
            ours.add(p[0]);
        }
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (queue.poll(Duration.ZERO).size() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(1); // until one wait reports all three together
        }
        List<NativeSocketChannel> handed = new ArrayList<>();
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> queue.poll(EVENTUALLY, (s, ops) -> {
            handed.add(s);
            throw new IllegalStateException("the handler fails");
        }));
        assertEquals("the handler fails", thrown.getMessage());
        assertEquals(1, handed.size(), "after the handler threw, the rest of its batch was still delivered: " + handed);
        // Level-triggered and unread: the next poll reports all three again, none lost.
        Set<NativeSocketChannel> again = new java.util.HashSet<>();
        queue.poll(EVENTUALLY, (s, ops) -> again.add(s));
        assertEquals(Set.copyOf(ours), again);
    }

    /**
     * Another thread closes the queue while a handler runs inside poll: every fd of the queue stays
     * open until the handler has returned and the poll has left; then all are released.
     */
    @Test
    void nothingIsReleasedWhileAHandlerIsStillInsidePoll() throws Exception {
        NativeSocketChannel[] p = pair();
        Set<Integer> before = fdNumbers();
        EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
        Set<Integer> queueFds = newFds(before);
        assertFalse(queueFds.isEmpty());
        q.subscribeRead(p[0]);
        write(p[1], "x");
        CountDownLatch inHandler = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        AtomicReference<String> seenInside = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread poller = start(() -> {
            try {
                q.poll(EVENTUALLY, (s, ops) -> {
                    inHandler.countDown();
                    try {
                        closed.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    List<Integer> gone = new ArrayList<>();
                    for (int fd : queueFds) {
                        if (!io.polyplex.internal.Descriptors.isOpen(fd)) {
                            gone.add(fd);
                        }
                    }
                    seenInside.set(gone.toString());
                });
            } catch (io.polyplex.ClosedEventQueueException expected) {
                // closed while inside: the documented end
            }
        }, failure);
        assertTrue(inHandler.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS), "no event reached the handler");
        q.close(); // from another thread, while the handler runs
        closed.countDown();
        assertEnds(poller, "the poll whose handler was running");
        assertEquals(null, failure.get());
        assertEquals("[]", seenInside.get(), "fds of the queue closed while its handler was still inside poll");
        assertNoNewFds(before, "fds of the queue after its last poll left");
    }

    @Test
    void aCallThatChangesNothingDoesNotNoticeAClosedFd() throws Exception {
        NativeSocketChannel[] p = highPair(); // so nothing else takes the number once it is closed
        queue.subscribeRead(p[0]);
        int fd = p[0].getFD();
        jnr.posix.POSIXFactory.getNativePOSIX().close(fd); // behind the channel's back: it still says open
        queue.subscribeRead(p[0]); // already subscribed: no system call, no error
        assertTrue(queue.isSubscribedRead(p[0]));
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribeWrite(p[0]),
                "a call that does change something notices");
        assertTrue(e.getMessage().contains("fd=" + fd) && e.getMessage().contains("EBADF"), e.getMessage());
        queue.remove(p[0]);
        assertFalse(queue.isSubscribedRead(p[0]));
    }
}
