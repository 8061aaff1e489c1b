package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.SocketEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Timeouts of {@code poll}: {@link Duration#ZERO} never blocks (also while another thread holds the
 * wait) yet reports what is ready; a positive timeout never returns early, whatever wakes the wait
 * internally (lesson 10: retry with the time that remains, never return early); several pollers
 * each keep their own timeout; huge timeouts are accepted (no EINVAL, no overflow into "do not
 * block"); an idle wait sleeps in the kernel instead of spinning; an interrupt of the polling thread
 * ends its poll promptly, keeping the interrupt status, on every path (as java.nio's Selector).
 *
 * <p>"Never early" is asserted exactly (elapsed {@code >=} timeout, measured with {@link
 * System#nanoTime()}); "promptly" only with generous bounds.
 */
public abstract class TimeoutContract extends ContractBase {

    /** What a poll on another thread did when interrupted: events, time taken, interrupt status. */
    private record Interrupted(int events, long millis, boolean stillInterrupted) { }

    /** Starts a poll of {@code timeout} on a new thread that reports how it ended. */
    private Thread interruptiblePoll(Duration timeout, AtomicReference<Interrupted> result,
                                     AtomicReference<Throwable> failure, CountDownLatch started) {
        return start(() -> {
            started.countDown();
            long t0 = System.nanoTime();
            int n = queue.poll(timeout, (s, ops) -> { });
            result.set(new Interrupted(n, millisSince(t0), Thread.currentThread().isInterrupted()));
        }, failure);
    }

    /**
     * Interrupting a thread blocked in the kernel ends its poll promptly, with its interrupt status
     * kept, as with java.nio's Selector (see EventQueue, "Interrupts"): its 60 s timeout is cut short.
     */
    @Test
    void anInterruptEndsAKernelWaitAndKeepsTheInterruptStatus() throws Exception {
        AtomicReference<Interrupted> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread t = interruptiblePoll(Duration.ofSeconds(60), result, failure, started);
        assertTrue(started.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        awaitBlockedInTheKernel(t); // the path under test: not the one that enters interrupted
        t.interrupt();
        assertEnds(t, "the interrupted poll");
        assertNull(failure.get());
        assertEquals(0, result.get().events());
        assertTrue(result.get().stillInterrupted(), "the interrupt status was cleared");
    }

    /** A thread waiting for its turn (another holds the poll, inside a handler) is ended by an interrupt too. */
    @Test
    void anInterruptEndsAWaitForTheTurnAndNotTheOtherPoller() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        CountDownLatch inHandler = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread holder = start(() -> queue.poll(null, (s, ops) -> {
            inHandler.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }), failure);
        write(p[1], "x");
        assertTrue(inHandler.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS), "the holder got no event");
        AtomicReference<Interrupted> result = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread waiter = interruptiblePoll(null, result, failure, started);
        assertTrue(started.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        awaitWaitingForTheTurn(waiter);
        waiter.interrupt();
        assertEnds(waiter, "the interrupted wait for the turn");
        assertNull(failure.get());
        assertTrue(result.get().stillInterrupted());
        assertTrue(holder.isAlive(), "the other poller was ended too");
        release.countDown();
        assertEnds(holder, "the holder");
        assertNull(failure.get());
    }

    /** An interrupt is not a wakeup: the next poll, on another thread, still waits its full time. */
    @Test
    void anInterruptIsNoWakeupForOthers() throws Exception {
        AtomicReference<Interrupted> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        Thread t = interruptiblePoll(Duration.ofSeconds(60), result, failure, started);
        assertTrue(started.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        awaitBlockedInTheKernel(t); // interrupted in the kernel wait, where the pipe is signalled
        t.interrupt();
        assertEnds(t, "the interrupted poll");
        long t0 = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(300)).size());
        assertTrue(System.nanoTime() - t0 >= 300_000_000L, "a later poll was cut short by the interrupt");
    }

    /**
     * A real EINTR: a handled signal (SIGPIPE, which the JVM ignores) sent to the polling thread
     * again and again ends its kernel wait each time (epoll_wait, poll, select and kevent are never
     * restarted); the poll goes on with the time that remains, never returns early, and no error
     * reaches the caller.
     */
    @Test
    void signalsToThePollingThreadNeverEndItsWaitEarly() throws Exception {
        java.util.concurrent.atomic.AtomicLong thread = new java.util.concurrent.atomic.AtomicLong();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch mayExit = new CountDownLatch(1); // keeps the pthread alive while signals go to it
        java.util.concurrent.atomic.AtomicLong waitedNanos = new java.util.concurrent.atomic.AtomicLong(-1);
        java.util.concurrent.atomic.AtomicInteger events = new java.util.concurrent.atomic.AtomicInteger(-1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start(() -> {
            thread.set(Signals.self());
            started.countDown();
            long t0 = System.nanoTime();
            try {
                events.set(queue.poll(Duration.ofMillis(1500), (s, ops) -> { }));
            } finally {
                waitedNanos.set(System.nanoTime() - t0);
                mayExit.await();
            }
        }, failure);
        assertTrue(started.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        try {
            awaitBlockedInTheKernel(t); // so the first signal already meets the kernel wait
            for (int i = 0; i < 15 && waitedNanos.get() < 0; i++) {
                Signals.send(thread.get(), Signals.SIGPIPE);
                Thread.sleep(50);
            }
        } finally {
            mayExit.countDown();
        }
        assertEnds(t, "the signalled poll");
        assertNull(failure.get(), "EINTR reached the caller: " + failure.get());
        assertEquals(0, events.get());
        assertTrue(waitedNanos.get() >= 1_500_000_000L, "returned after " + waitedNanos.get() + " ns of 1.5 s");
    }

    @Test
    void anAlreadyInterruptedThreadDoesNotBlock() throws Exception {
        AtomicReference<Interrupted> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start(() -> {
            Thread.currentThread().interrupt();
            long t0 = System.nanoTime();
            int n = queue.poll(null, (s, ops) -> { });
            result.set(new Interrupted(n, millisSince(t0), Thread.currentThread().isInterrupted()));
        }, failure);
        assertEnds(t, "a poll(null) on an interrupted thread");
        assertNull(failure.get());
        assertTrue(result.get().stillInterrupted());
    }

    @Test
    void zeroTimeoutNeverBlocksYetReportsWhatIsReady() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        for (int i = 0; i < 1000; i++) {
            assertEquals(0, queue.poll(Duration.ZERO).size());
            assertEquals(0, queue.poll(Duration.ZERO, (s, ops) -> { }));
        }
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        // Level-triggered and still unread: a zero-timeout poll sees it in both forms.
        List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ZERO);
        assertEquals(1, events.size(), events.toString());
        assertSame(p[0], events.get(0).socket());
        assertEquals(1, queue.poll(Duration.ZERO, (s, ops) -> assertSame(p[0], s)));
    }

    @Test
    void zeroTimeoutDoesNotWaitForAnotherThreadsBlockedPoll() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch polling = new CountDownLatch(1);
        Thread blocked = start(() -> {
            polling.countDown();
            queue.poll(null);
        }, failure);
        assertTrue(polling.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        awaitBlockedInTheKernel(blocked);
        AtomicBoolean returned = new AtomicBoolean();
        Thread zero = start(() -> {
            assertEquals(0, queue.poll(Duration.ZERO).size());
            returned.set(true);
        }, failure);
        zero.join(EVENTUALLY.toMillis());
        boolean zeroReturned = returned.get();
        queue.wakeup(); // release the blocked poller whatever happened
        assertEnds(blocked, "poll(null) after wakeup()");
        assertTrue(zeroReturned, "poll(ZERO) waited for another thread's blocked poll(null)");
        assertNull(failure.get());
    }

    @Test
    void aTimeoutIsNeverEarly() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        for (long nanos : new long[] {300_000, 1_000_000, 15_000_000, 200_000_000}) {
            long start = System.nanoTime();
            assertEquals(0, queue.poll(Duration.ofNanos(nanos)).size());
            long waited = System.nanoTime() - start;
            assertTrue(waited >= nanos, "poll(" + nanos + " ns) returned after " + waited + " ns");
        }
        long start = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(200), (s, ops) -> { }));
        assertTrue(System.nanoTime() - start >= 200_000_000L, "poll(200 ms, handler) returned early");
        // And it is a timeout, not a deaf wait: an event ends a long one.
        write(p[1], "x");
        start = System.nanoTime();
        assertEquals(1, queue.poll(Duration.ofSeconds(30)).size());
        assertTrue(millisSince(start) < EVENTUALLY.toMillis());
    }

    /**
     * Changes made by another thread while a poll waits (which a poll/select backend picks up by
     * waking its own waiter) neither end the poll early nor restart its timeout.
     */
    @Test
    void changesFromAnotherThreadNeitherShortenNorRestartATimeout() throws Exception {
        NativeSocketChannel[][] idle = new NativeSocketChannel[4][];
        for (int i = 0; i < idle.length; i++) {
            idle[i] = pair();
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread changer = start(() -> {
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (!stop.get() && System.nanoTime() < deadline) {
                for (NativeSocketChannel[] p : idle) {
                    queue.subscribeRead(p[0]);
                    queue.disableRead(p[0]);
                    queue.subscribeRead(p[0]);
                    queue.remove(p[0]);
                }
                Thread.sleep(1);
            }
        }, failure);
        try {
            long start = System.nanoTime();
            List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(300));
            long waited = millisSince(start);
            assertEquals(List.of(), events);
            assertTrue(waited >= 300, "poll(300 ms) returned after " + waited + " ms");
            assertTrue(changer.isAlive(), "poll(300 ms) only returned after the changes stopped ("
                    + waited + " ms): each change restarted its timeout");
        } finally {
            stop.set(true);
            assertEnds(changer, "the changer");
        }
        assertNull(failure.get());
    }

    @Test
    void aSecondPollerKeepsItsOwnTimeoutWhileAnotherWaits() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch polling = new CountDownLatch(1);
        Thread first = start(() -> {
            polling.countDown();
            queue.poll(null);
        }, failure);
        assertTrue(polling.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        awaitBlockedInTheKernel(first); // the first holds the wait: the second has to wait for its turn
        long start = System.nanoTime();
        int delivered = queue.poll(Duration.ofMillis(300), (s, ops) -> { });
        long waited = millisSince(start);
        queue.wakeup();
        assertEnds(first, "poll(null) after wakeup()");
        assertEquals(0, delivered);
        assertTrue(waited >= 300, "the second poller returned early, after " + waited + " ms");
        assertTrue(waited < EVENTUALLY.toMillis(), "the second poller waited " + waited
                + " ms: it waited for the first one instead of its own 300 ms");
        assertNull(failure.get());
    }

    @Test
    void hugeTimeoutsAreAcceptedAndEndOnAnEvent() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        assertEquals(1, queue.poll(Duration.ofDays(365 * 1000)).size());
        assertEquals(1, queue.poll(Duration.ofSeconds(Long.MAX_VALUE)).size());
        assertEquals(1, queue.poll(Duration.ofMillis(Integer.MAX_VALUE + 1L), (s, ops) -> { }));
    }

    /**
     * Timeouts just past what the kernel call takes in one go (2^31 ms, 2^32 ms) must block, not
     * wrap to "return at once" (a spin) or to an error: only a wakeup ends them.
     */
    @Test
    void timeoutsBeyondTheKernelsRangeBlockUntilWoken() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        for (Duration timeout : new Duration[] {Duration.ofMillis(Integer.MAX_VALUE + 1L),
                Duration.ofMillis(1L << 32), Duration.ofMillis((1L << 32) + 5)}) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long[] cpu = new long[1];
            long[] wall = new long[1];
            Thread poller = start(() -> {
                long c = cpuNanos();
                long w = System.nanoTime();
                assertEquals(0, queue.poll(timeout).size());
                cpu[0] = cpuNanos() - c;
                wall[0] = System.nanoTime() - w;
            }, failure);
            awaitBlockedInTheKernel(poller);
            Thread.sleep(400); // long enough for a wait that returned at once to have shown it, or spun
            assertTrue(poller.isAlive(), "poll(" + timeout + ") returned at once: " + failure.get());
            queue.wakeup();
            assertEnds(poller, "poll(" + timeout + ") after wakeup()");
            assertNull(failure.get());
            assertNoSpin(cpu[0], wall[0], "poll(" + timeout + ")");
        }
    }

    @Test
    void anIdleWaitSleepsInTheKernel() throws Exception {
        NativeSocketChannel[] p = pair();
        NativeSocketChannel[] q = pair();
        queue.subscribeRead(p[0]);
        queue.subscribeReadWrite(q[0]);
        awaitEvent(q[0], SocketEvent.WRITE);
        queue.disableWrite(q[0]); // writable, but disabled: must not keep the wait busy
        queue.poll(Duration.ofMillis(50)); // warm up
        long cpu = cpuNanos();
        long start = System.nanoTime();
        List<SocketEvent<NativeSocketChannel>> events = queue.poll(Duration.ofMillis(500));
        long wall = System.nanoTime() - start;
        cpu = cpuNanos() - cpu;
        assertEquals(List.of(), events);
        assertTrue(wall >= 500_000_000L, "poll(500 ms) returned after " + wall + " ns");
        assertNoSpin(cpu, wall, "an idle poll(500 ms)");
    }
}
