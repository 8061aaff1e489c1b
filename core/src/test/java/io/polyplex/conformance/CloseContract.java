package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@code close()}: blocked pollers end with ClosedEventQueueException (jnr-enxio closed the kqueue
 * under a blocked thread; OpenJDK SelectAndClose), later calls throw, every native resource goes,
 * the caller's sockets stay, and close racing other calls ends only in the documented exception
 * (JDK-8336339, Netty #9362).
 */
public abstract class CloseContract extends ContractBase {

    @Test
    void closeWakesFourBlockedPollers() throws Exception {
        int n = 4;
        CountDownLatch started = new CountDownLatch(n);
        List<Thread> pollers = new ArrayList<>();
        List<AtomicReference<Throwable>> outcomes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            outcomes.add(outcome);
            Thread t = new Thread(() -> {
                started.countDown();
                try {
                    queue.poll(null);
                    outcome.set(new AssertionError("poll returned normally"));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
            pollers.add(t);
            t.start();
        }
        assertTrue(started.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        Thread.sleep(200);
        queue.close();
        for (int i = 0; i < n; i++) {
            pollers.get(i).join(EVENTUALLY.toMillis());
            assertFalse(pollers.get(i).isAlive(), "poller " + i + " still blocked after close()");
            assertTrue(outcomes.get(i).get() instanceof ClosedEventQueueException,
                    "poller " + i + " ended with " + outcomes.get(i).get());
        }
    }

    @Test
    void everyLaterCallThrowsExceptIsOpenAndClose() throws Exception {
        NativeSocketChannel s = pair()[0];
        queue.subscribeRead(s);
        queue.close();
        assertFalse(queue.isOpen());
        queue.close(); // idempotent
        List<Executable> calls = List.of(
                () -> queue.subscribeRead(s), () -> queue.subscribeWrite(s), () -> queue.subscribeReadWrite(s),
                () -> queue.subscribe(s, SocketEvent.READ, Trigger.LEVEL),
                () -> queue.disableRead(s), () -> queue.disableWrite(s), () -> queue.disableReadWrite(s),
                () -> queue.remove(s), () -> queue.isSubscribedRead(s), () -> queue.isSubscribedWrite(s),
                () -> queue.isDisabledRead(s), () -> queue.isDisabledWrite(s),
                () -> queue.poll(Duration.ZERO), () -> queue.poll(null), () -> queue.poll(Duration.ZERO, (x, o) -> { }),
                () -> queue.wakeup(), () -> queue.backend(), () -> queue.capabilities());
        for (int i = 0; i < calls.size(); i++) {
            assertThrows(ClosedEventQueueException.class, calls.get(i), "call #" + i + " after close");
        }
        assertTrue(s.isOpen(), "close() closed the caller's socket");
    }

    @Test
    void closeLeavesTheCallersSocketsUsable() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeReadWrite(p[0]);
        queue.close();
        write(p[1], "still here");
        assertEquals("still here", readNow(p[0]));
    }

    @Test
    void noFdIsLeakedByAQueueThatWasUsed() throws Exception {
        NativeSocketChannel[][] pairs = new NativeSocketChannel[10][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair();
        }
        int before = openFds();
        EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
        for (NativeSocketChannel[] p : pairs) {
            q.subscribeReadWrite(p[0]);
            write(p[1], "x");
        }
        q.wakeup();
        q.poll(Duration.ZERO);
        q.disableWrite(pairs[0][0]);
        q.remove(pairs[1][0]);
        q.close();
        assertEquals(before, openFds(), "fds open before the queue vs after its close");
    }

    /** Lesson 14: every fd the queue opens is close-on-exec, so no child process inherits it. */
    @Test
    void everyFdTheQueueOpensIsCloseOnExec() throws Exception {
        java.util.Set<String> before = fdNames();
        EventQueue<NativeSocketChannel> q = openQueue(NativeSelectableChannel::getFD);
        java.util.Set<String> opened = fdNames();
        opened.removeAll(before);
        assertTrue(!opened.isEmpty(), "the queue opened no fd at all?");
        POSIX posix = POSIXFactory.getNativePOSIX();
        for (String name : opened) {
            int fd = Integer.parseInt(name);
            int flags = posix.fcntl(fd, jnr.constants.platform.Fcntl.F_GETFD);
            assertEquals(1, flags & 1, "fd " + fd + " opened by the queue is not FD_CLOEXEC");
        }
        q.close();
    }

    private static java.util.Set<String> fdNames() {
        java.io.File dir = new java.io.File("/proc/self/fd");
        if (!dir.isDirectory()) {
            dir = new java.io.File("/dev/fd");
        }
        return new java.util.HashSet<>(List.of(java.util.Objects.requireNonNull(dir.list())));
    }

    @Test
    void closeFromAHandlerEndsThePollAndReleasesEverything() throws Exception {
        NativeSocketChannel[] p = pair();
        int before = openFds();
        EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
        q.subscribeRead(p[0]);
        write(p[1], "x");
        int n = q.poll(EVENTUALLY, (s, ops) -> q.close());
        assertEquals(1, n);
        assertFalse(q.isOpen());
        assertThrows(ClosedEventQueueException.class, () -> q.poll(Duration.ZERO));
        assertEquals(before, openFds());
    }

    /** Lesson 5: a wakeup after close never writes into a closed, possibly reused, fd. */
    @Test
    void wakeupAfterCloseNeverWritesIntoAReusedFd() throws Exception {
        queue.close();
        POSIX posix = POSIXFactory.getNativePOSIX();
        int[] fds = new int[2];
        assertEquals(0, posix.pipe(fds)); // most likely reuses the closed queue's numbers
        try {
            for (int i = 0; i < 100; i++) {
                try {
                    queue.wakeup();
                } catch (ClosedEventQueueException expected) {
                    // the documented outcome
                }
            }
            posix.fcntl(fds[0], jnr.constants.platform.Fcntl.F_SETFL, jnr.constants.platform.OpenFlags.O_NONBLOCK.intValue());
            ByteBuffer b = ByteBuffer.allocate(16);
            assertTrue(posix.read(fds[0], b, 16) <= 0, "a wakeup after close wrote into a reused fd");
        } finally {
            posix.close(fds[0]);
            posix.close(fds[1]);
        }
    }

    /** Lesson 9: changes racing close end in success or ClosedEventQueueException, nothing else. */
    @Test
    void changesRacingCloseEndOnlyInTheDocumentedException() throws Exception {
        NativeSocketChannel[] p = pair();
        for (int round = 0; round < 200; round++) {
            EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            Thread changer = new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < 50; i++) {
                        q.subscribeRead(p[0]);
                        q.disableRead(p[0]);
                        q.subscribeReadWrite(p[0]);
                        q.remove(p[0]);
                    }
                } catch (ClosedEventQueueException expected) {
                    // fine
                } catch (Throwable t) {
                    unexpected.set(t);
                }
            });
            Thread poller = new Thread(() -> {
                try {
                    go.await();
                    while (true) {
                        q.poll(Duration.ofMillis(1));
                    }
                } catch (ClosedEventQueueException expected) {
                    // fine
                } catch (Throwable t) {
                    unexpected.set(t);
                }
            });
            changer.start();
            poller.start();
            go.countDown();
            q.close();
            changer.join(EVENTUALLY.toMillis());
            poller.join(EVENTUALLY.toMillis());
            assertFalse(changer.isAlive() || poller.isAlive(), "round " + round + ": a thread hung");
            if (unexpected.get() != null) {
                throw new AssertionError("round " + round + ": unexpected " + unexpected.get(), unexpected.get());
            }
        }
    }

    @Test
    void closeIsIdempotentFromManyThreads() throws Exception {
        Thread[] closers = new Thread[4];
        for (int i = 0; i < closers.length; i++) {
            closers[i] = new Thread(queue::close);
            closers[i].start();
        }
        for (Thread t : closers) {
            t.join(EVENTUALLY.toMillis());
            assertFalse(t.isAlive());
        }
        assertFalse(queue.isOpen());
    }

}
