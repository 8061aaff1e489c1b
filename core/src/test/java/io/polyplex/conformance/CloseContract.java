package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import java.io.IOException;
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
import org.junit.jupiter.api.function.Executable;

/**
 * {@code close()}: every blocked poller (waiting in the kernel or for its turn, with or without a
 * timeout) ends with ClosedEventQueueException (lesson 7: jnr-enxio closed the kqueue under a
 * blocked thread; OpenJDK SelectAndClose); every later call but {@code isOpen} and {@code close}
 * throws it; close is idempotent, also from several threads; the caller's sockets stay open and
 * usable; wakeup during or after close never writes into a closed, possibly reused fd (lesson 5:
 * Netty #9362, OpenJDK WakeupAfterClose); and changes racing close end only in success or the
 * documented exception (lesson 9: JDK-8336339). Native resources are checked in {@link
 * FdLeakContract}.
 */
public abstract class CloseContract extends ContractBase {

    /**
     * Four pollers: two wait with no timeout, two with a long one, in both poll forms; only one can
     * be in the kernel, the others wait for their turn. Close must end all four with the exception.
     */
    @Test
    void closeWakesFourBlockedPollers() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]); // something registered, nothing ready
        int n = 4;
        CountDownLatch started = new CountDownLatch(n);
        List<Thread> pollers = new ArrayList<>();
        List<AtomicReference<Throwable>> outcomes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            outcomes.add(outcome);
            int kind = i;
            Thread t = new Thread(() -> {
                started.countDown();
                try {
                    switch (kind) {
                        case 0 -> queue.poll(null);
                        case 1 -> queue.poll(null, (s, ops) -> { });
                        case 2 -> queue.poll(Duration.ofSeconds(60));
                        default -> queue.poll(Duration.ofSeconds(60), (s, ops) -> { });
                    }
                    outcome.set(new AssertionError("poll returned normally"));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
            t.setDaemon(true);
            pollers.add(t);
            t.start();
        }
        assertTrue(started.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        Thread.sleep(300);
        for (int i = 0; i < n; i++) {
            assertTrue(pollers.get(i).isAlive(), "poller " + i + " returned before close: " + outcomes.get(i).get());
        }
        long start = System.nanoTime();
        queue.close();
        for (int i = 0; i < n; i++) {
            pollers.get(i).join(EVENTUALLY.toMillis());
            assertFalse(pollers.get(i).isAlive(), "poller " + i + " still blocked " + millisSince(start)
                    + " ms after close()");
            assertTrue(outcomes.get(i).get() instanceof ClosedEventQueueException,
                    "poller " + i + " ended with " + outcomes.get(i).get());
        }
        assertOpenInTheKernel("after close()", p[0]);
    }

    @Test
    void everyLaterCallThrowsExceptIsOpenAndClose() throws Exception {
        NativeSocketChannel s = pair()[0];
        queue.subscribeRead(s);
        assertTrue(queue.isOpen());
        queue.close();
        assertFalse(queue.isOpen());
        queue.close(); // idempotent
        assertFalse(queue.isOpen());
        List<Executable> calls = List.of(
                () -> queue.subscribeRead(s), () -> queue.subscribeWrite(s), () -> queue.subscribeReadWrite(s),
                () -> queue.subscribe(s, SocketEvent.READ, Trigger.LEVEL),
                () -> queue.disableRead(s), () -> queue.disableWrite(s), () -> queue.disableReadWrite(s),
                () -> queue.remove(s), () -> queue.isSubscribedRead(s), () -> queue.isSubscribedWrite(s),
                () -> queue.isDisabledRead(s), () -> queue.isDisabledWrite(s),
                () -> queue.poll(Duration.ZERO), () -> queue.poll(null), () -> queue.poll(Duration.ofSeconds(60)),
                () -> queue.poll(Duration.ZERO, (x, o) -> { }), () -> queue.poll(null, (x, o) -> { }),
                () -> queue.backend(), () -> queue.capabilities());
        for (int i = 0; i < calls.size(); i++) {
            assertThrows(ClosedEventQueueException.class, calls.get(i), "call #" + i + " after close");
        }
        queue.wakeup(); // never throws, as Selector.wakeup(): the shutdown idiom may race close()
        assertOpenInTheKernel("after close()", s);
    }

    @Test
    void closeLeavesTheCallersSocketsUsable() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeReadWrite(p[0]);
        write(p[1], "first");
        awaitEvent(p[0], SocketEvent.READ);
        queue.close();
        assertOpenInTheKernel("after close()", p);
        write(p[1], " still here");
        assertEquals("first still here", readNow(p[0]));
        // ...and another queue can watch them at once.
        EventQueue<NativeSocketChannel> other = openQueue(NativeSelectableChannel::getFD);
        other.subscribeRead(p[1]);
        write(p[0], "x");
        assertEquals(1, other.poll(EVENTUALLY).size());
    }

    /**
     * Lesson 5: a wakeup after close never writes into a closed fd's number once another file owns
     * it. The queue's fds are noted while it is open; after close, socket pairs take those numbers
     * back ({@link FdReuse}), so a stray wakeup write would land in one.
     */
    @Test
    void wakeupAfterCloseNeverWritesIntoAReusedFd() throws Exception {
        Set<Integer> before = fdNumbers();
        EventQueue<NativeSocketChannel> q = openQueue(NativeSelectableChannel::getFD);
        Set<Integer> queueFds = fdNumbers();
        queueFds.removeAll(before);
        assertFalse(queueFds.isEmpty(), "the queue opened no fd?");
        q.wakeup();
        assertEquals(0, q.poll(EVENTUALLY).size()); // the wakeup channel works while open
        q.close();
        FdReuse.Reused reused = reuse(queueFds);
        for (int i = 0; i < 100; i++) {
            q.wakeup(); // a no-op on a closed queue, never an exception
        }
        assertNothingWrittenInto(reused, "after close");
        assertThrows(ClosedEventQueueException.class, () -> q.poll(Duration.ZERO));
    }

    /**
     * Socket pairs on the numbers just closed, closed after the test; fails if they took none of
     * them (other files took every one first).
     */
    private FdReuse.Reused reuse(Set<Integer> numbers) throws IOException {
        FdReuse.Reused r = FdReuse.take(numbers);
        for (NativeSocketChannel[] p : r.pairs()) {
            closeLater(p[0]);
            closeLater(p[1]);
        }
        assertFalse(r.taken().isEmpty(), "other files took every one of " + numbers + " first");
        return r;
    }

    /** Asserts that no end of the pairs has anything to read: nothing was written into them. */
    private static void assertNothingWrittenInto(FdReuse.Reused r, String when) throws IOException {
        for (NativeSocketChannel[] p : r.pairs()) {
            for (NativeSocketChannel end : p) {
                assertEquals("", readNow(end), when + ": something wrote into reused fd "
                        + (end == p[0] ? p[1] : p[0]).getFD() + " (numbers taken back: " + r.taken() + ")");
            }
        }
    }

    /**
     * Lesson 5, the racing half: threads calling wakeup() while the queue closes never see an
     * exception (the {@code running = false; queue.wakeup()} shutdown racing {@code close()}), and
     * pipes put on the queue's old fd numbers right after close stay empty.
     */
    @Test
    void wakeupsRacingCloseNeverThrowNorWriteIntoReusedFds() throws Exception {
        for (int round = 0; round < 50; round++) {
            Set<Integer> before = fdNumbers();
            EventQueue<NativeSocketChannel> q = open(NativeSelectableChannel::getFD);
            Set<Integer> queueFds = fdNumbers();
            queueFds.removeAll(before);
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            Thread[] wakers = new Thread[3];
            for (int i = 0; i < wakers.length; i++) {
                wakers[i] = start(() -> {
                    go.await();
                    while (q.isOpen()) {
                        q.wakeup();
                    }
                    for (int j = 0; j < 1000; j++) {
                        q.wakeup(); // after close: must not touch the queue's old fds
                    }
                }, unexpected);
            }
            go.countDown();
            Thread.sleep(1);
            q.close();
            FdReuse.Reused reused = reuse(queueFds);
            for (Thread t : wakers) {
                assertEnds(t, "round " + round + ": a waker");
            }
            assertNull(unexpected.get(), "round " + round + ": " + unexpected.get());
            assertFalse(q.isOpen());
            assertThrows(ClosedEventQueueException.class, () -> q.poll(Duration.ZERO));
            assertNothingWrittenInto(reused, "round " + round);
            reused.close();
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
                        q.isSubscribedRead(p[0]);
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
            assertThrows(ClosedEventQueueException.class, () -> q.subscribeRead(p[0]));
        }
        assertOpenInTheKernel("after the rounds", p[0]);
    }

    @Test
    void closeIsIdempotentFromManyThreads() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch go = new CountDownLatch(1);
        Thread[] closers = new Thread[4];
        for (int i = 0; i < closers.length; i++) {
            closers[i] = start(() -> {
                go.await();
                queue.close();
            }, failure);
        }
        go.countDown();
        for (Thread t : closers) {
            assertEnds(t, "close()");
        }
        assertNull(failure.get(), "close() threw");
        assertFalse(queue.isOpen());
        assertThrows(ClosedEventQueueException.class, () -> queue.poll(Duration.ZERO));
    }
}
