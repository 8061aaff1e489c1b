package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.SocketEvent;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.junit.jupiter.api.Test;

/**
 * Native resources: a queue opens at least one fd, every one of them close-on-exec (lesson 14: a
 * forked child must not inherit the epoll fd or the wakeup pipe), and {@code close()} gives every
 * one back: after use, from inside a handler, while pollers are blocked (as soon as the last one
 * leaves), and over many open/close cycles. The caller's sockets are never among what it closes.
 * Counts come from /proc/self/fd (Linux) or /dev/fd.
 */
public abstract class FdLeakContract extends ContractBase {

    @Test
    void noFdIsLeakedByAQueueThatWasUsed() throws Exception {
        NativeSocketChannel[][] pairs = new NativeSocketChannel[10][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair();
        }
        java.util.Set<Integer> before = fdNumbers();
        EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
        assertTrue(fdNumbers().size() > before.size(), "the queue opened no fd at all?");
        for (NativeSocketChannel[] p : pairs) {
            q.subscribeReadWrite(p[0]);
            write(p[1], "x");
        }
        q.wakeup();
        assertTrue(q.poll(EVENTUALLY).size() > 0 || q.poll(EVENTUALLY).size() > 0);
        q.disableWrite(pairs[0][0]);
        q.disableReadWrite(pairs[2][0]);
        q.remove(pairs[1][0]);
        q.close();
        assertNoNewFds(before, "fds open before the queue vs after its close");
        for (NativeSocketChannel[] p : pairs) {
            assertOpenInTheKernel("after close()", p);
        }
    }

    /** Lesson 14: every fd the queue opens is close-on-exec, so no child process inherits it. */
    @Test
    void everyFdTheQueueOpensIsCloseOnExec() throws Exception {
        NativeSocketChannel[] p = pair();
        open(NativeSelectableChannel::getFD).close(); // let class loading and the like happen first
        Set<Integer> before = fdNumbers();
        EventQueue<NativeSocketChannel> q = openQueue(NativeSelectableChannel::getFD);
        Set<Integer> opened = newFds(before); // without a file the JVM opened by path meanwhile
        q.subscribeRead(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ, q);
        assertFalse(opened.isEmpty(), "the queue opened no fd at all?");
        POSIX posix = POSIXFactory.getNativePOSIX();
        for (int fd : opened) {
            int flags = posix.fcntl(fd, jnr.constants.platform.Fcntl.F_GETFD);
            assertEquals(1, flags & 1, "fd " + fd + " opened by the queue is not FD_CLOEXEC");
        }
        q.close();
    }

    @Test
    void closeFromAHandlerEndsThePollAndReleasesEverything() throws Exception {
        NativeSocketChannel[] p = pair();
        java.util.Set<Integer> before = fdNumbers();
        EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
        q.subscribeRead(p[0]);
        write(p[1], "x");
        int n = q.poll(EVENTUALLY, (s, ops) -> q.close());
        assertEquals(1, n);
        assertFalse(q.isOpen());
        assertThrows(ClosedEventQueueException.class, () -> q.poll(Duration.ZERO));
        assertNoNewFds(before, "fds open before vs after");
        assertOpenInTheKernel("after close() from a handler", p[0]);
    }

    /**
     * Close while pollers wait: the resources go as soon as the last one has left (none may be
     * closed under a thread still inside the kernel wait, and none may be forgotten).
     */
    @Test
    void closeWithBlockedPollersReleasesEverythingOnceTheyLeave() throws Exception {
        NativeSocketChannel[] p = pair();
        java.util.Set<Integer> before = fdNumbers();
        EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
        q.subscribeRead(p[0]);
        int n = 3;
        CountDownLatch started = new CountDownLatch(n);
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        Thread[] pollers = new Thread[n];
        for (int i = 0; i < n; i++) {
            Duration timeout = i == 0 ? null : Duration.ofSeconds(60);
            pollers[i] = start(() -> {
                started.countDown();
                try {
                    q.poll(timeout);
                    throw new AssertionError("poll returned normally");
                } catch (ClosedEventQueueException expected) {
                    // the documented end
                }
            }, unexpected);
        }
        assertTrue(started.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        Thread.sleep(200);
        q.close();
        for (Thread t : pollers) {
            assertEnds(t, "a poller after close()");
        }
        assertNull(unexpected.get());
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (!newFds(before).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertNoNewFds(before, "fds of a queue closed under blocked pollers, after they left");
        assertOpenInTheKernel("after close() under blocked pollers", p[0]);
    }

    @Test
    void manyQueuesOpenedUsedAndClosedLeakNothing() throws Exception {
        NativeSocketChannel[] p = pair();
        write(p[1], "x");
        java.util.Set<Integer> before = fdNumbers();
        for (int i = 0; i < 200; i++) {
            EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
            q.subscribeRead(p[0]);
            if (i % 10 == 0) {
                assertEquals(SocketEvent.READ, q.poll(EVENTUALLY).get(0).readyOps() & SocketEvent.READ);
            }
            q.wakeup();
            q.close();
        }
        assertNoNewFds(before, "fds before vs after 200 queues");
        assertEquals("x", readNow(p[0]));
    }
}
