package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@code wakeup()}: the poll in progress, or else the next one, returns promptly with no events,
 * in both poll forms; a wakeup is used up by the poll it ended; many wakeups before a poll cost one
 * (the following poll waits its whole timeout); wakeups from many threads never block; a storm of
 * 100,000 wakeups with nobody polling neither blocks the caller nor fills the channel (lesson 6:
 * OpenJDK WakeupOverflow, jnr-enxio's one byte per wakeup).
 */
public abstract class WakeupContract extends ContractBase {

    /** Long enough that returning before it can only be the wakeup's doing. */
    private static final Duration LONG = Duration.ofSeconds(60);

    @Test
    void wakeupBeforePollMakesTheNextPollReturn() throws Exception {
        queue.wakeup();
        long start = System.nanoTime();
        assertEquals(0, queue.poll(LONG).size());
        assertTrue(millisSince(start) < EVENTUALLY.toMillis(), "poll returned only after " + millisSince(start) + " ms");
        // The handler form too; and a wakeup is used up by the poll it ended.
        queue.wakeup();
        assertEquals(0, queue.poll(null, (s, ops) -> { }));
        start = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size());
        assertTrue(millisSince(start) >= 200, "a consumed wakeup ended the next poll too");
    }

    @Test
    void wakeupFromAnotherThreadEndsABlockedPoll() throws Exception {
        CountDownLatch polling = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger returned = new AtomicInteger(-1);
        Thread poller = new Thread(() -> {
            try {
                polling.countDown();
                returned.set(queue.poll(null).size());
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        poller.start();
        assertTrue(polling.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        awaitBlockedInTheKernel(poller); // the wakeup below must end a wait already in the kernel
        queue.wakeup();
        poller.join(EVENTUALLY.toMillis());
        assertFalse(poller.isAlive(), "poll(null) still blocked after wakeup()");
        assertEquals(null, failure.get());
        assertEquals(0, returned.get());
    }

    /**
     * 80,000 wakeups from 8 threads never block, and each of the polls made meanwhile, with a
     * 60 s timeout only a wakeup can cut short, ends promptly; once the storm is over they have
     * coalesced and a poll waits its whole time again.
     */
    @Test
    void wakeupsFromManyThreadsNeverBlockAndEndEveryPollMeanwhile() throws Exception {
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        Thread[] wakers = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            wakers[i] = new Thread(() -> {
                try {
                    start.await();
                    for (int j = 0; j < 10_000; j++) {
                        queue.wakeup();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            wakers[i].start();
        }
        // Once the storm is over, keeps waking until the poll loop below has seen it end, so a poll
        // that starts just after the last waker finished is not left to wait its 60 s.
        java.util.concurrent.atomic.AtomicBoolean loopDone = new java.util.concurrent.atomic.AtomicBoolean();
        Thread tail = new Thread(() -> {
            try {
                for (Thread t : wakers) {
                    t.join();
                }
                while (!loopDone.get()) {
                    queue.wakeup();
                    Thread.sleep(10);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        tail.start();
        start.countDown();
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        try {
            while (anyAlive(wakers) && System.nanoTime() < deadline) {
                long t0 = System.nanoTime();
                assertEquals(0, queue.poll(LONG).size());
                assertTrue(millisSince(t0) < EVENTUALLY.toMillis(), "a poll during the storm was not woken");
            }
        } finally {
            loopDone.set(true);
        }
        for (Thread t : wakers) {
            t.join(EVENTUALLY.toMillis());
            assertFalse(t.isAlive(), "wakeup() blocked");
        }
        tail.join(EVENTUALLY.toMillis());
        // The storm is over: at most one wakeup is pending, then polls wait their full timeout.
        queue.poll(Duration.ofMillis(100));
        long quiet = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size());
        assertTrue(millisSince(quiet) >= 200, "wakeups were not coalesced");
    }

    private static boolean anyAlive(Thread[] threads) {
        for (Thread t : threads) {
            if (t.isAlive()) {
                return true;
            }
        }
        return false;
    }

    @Test
    void manyWakeupsBeforeAPollCostOne() throws Exception {
        for (int i = 0; i < 1000; i++) {
            queue.wakeup();
        }
        assertEquals(0, queue.poll(LONG).size()); // returns: the wakeups are pending
        long start = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(300)).size());
        long waited = millisSince(start);
        assertTrue(waited >= 300, "second poll returned after " + waited + " ms: the wakeups were not coalesced");
    }

    @Test
    void aStormOfWakeupsWithNobodyPollingDoesNotBlock() throws Exception {
        Thread storm = new Thread(() -> {
            for (int i = 0; i < 100_000; i++) {
                queue.wakeup();
            }
        });
        storm.start();
        storm.join(EVENTUALLY.toMillis());
        assertFalse(storm.isAlive(), "100,000 wakeups blocked the caller");
        long start = System.nanoTime();
        assertEquals(0, queue.poll(LONG).size());
        assertTrue(millisSince(start) < EVENTUALLY.toMillis());
        // The storm cost one wakeup: the pipe (or whatever channel) is drained, the next poll waits.
        start = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size());
        assertTrue(millisSince(start) >= 200, "100,000 wakeups ended more than one poll");
    }
}
