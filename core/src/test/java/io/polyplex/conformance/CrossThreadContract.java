package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.SocketEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Threads (lesson 8: OpenJDK RegisterDuringSelect, RacyDeregister; mio register_during_poll): a
 * subscription or re-enable made from another thread takes effect in a poll that is already
 * blocked, with or without a timeout, without waiting for it; changes racing each other lose no
 * update; several pollers share one queue and one readiness is delivered once; a handler may not
 * re-enter poll (IllegalStateException).
 */
public abstract class CrossThreadContract extends ContractBase {

    /** Lesson 8: a subscription made while another thread waits takes effect in that wait. */
    private void assertSubscriptionReachesABlockedPoll(Duration timeout, boolean write) throws Exception {
        NativeSocketChannel[] p = pair();
        if (!write) {
            write(p[1], "ready before anyone watches");
        }
        NativeSocketChannel[] idle = pair();
        queue.subscribeRead(idle[0]); // something else is watched, and stays quiet
        AtomicReference<List<SocketEvent<NativeSocketChannel>>> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch polling = new CountDownLatch(1);
        Thread poller = start(() -> {
            polling.countDown();
            result.set(queue.poll(timeout));
        }, failure);
        assertTrue(polling.await(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS));
        awaitBlockedInTheKernel(poller); // so the change below meets a wait already blocked
        assertTrue(poller.isAlive(), "the poll returned before anything was subscribed: " + result.get());
        if (write) {
            queue.subscribeWrite(p[0]);
        } else {
            queue.subscribeRead(p[0]);
        }
        poller.join(EVENTUALLY.toMillis());
        boolean stuck = poller.isAlive();
        if (stuck) {
            queue.wakeup();
            poller.join(EVENTUALLY.toMillis());
        }
        assertFalse(stuck, "the blocked poll(" + timeout + ") did not see the new subscription");
        assertNull(failure.get());
        assertEquals(1, result.get().size(), result.get().toString());
        assertSame(p[0], result.get().get(0).socket());
        assertEquals(write ? SocketEvent.WRITE : SocketEvent.READ,
                result.get().get(0).readyOps() & (SocketEvent.READ | SocketEvent.WRITE));
    }

    @Test
    void aSubscriptionFromAnotherThreadReachesABlockedPoll() throws Exception {
        assertSubscriptionReachesABlockedPoll(Duration.ofSeconds(60), false);
    }

    @Test
    void aSubscriptionFromAnotherThreadReachesAPollWithoutTimeout() throws Exception {
        assertSubscriptionReachesABlockedPoll(null, false);
    }

    @Test
    void aWriteSubscriptionFromAnotherThreadReachesABlockedPoll() throws Exception {
        assertSubscriptionReachesABlockedPoll(null, true);
    }

    @Test
    void reEnablingFromAnotherThreadReachesABlockedPoll() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        queue.disableRead(p[0]);
        write(p[1], "x");
        AtomicInteger delivered = new AtomicInteger();
        Thread poller = new Thread(() -> {
            try {
                delivered.set(queue.poll(null, (s, ops) -> { }));
            } catch (Exception e) {
                delivered.set(-1);
            }
        });
        poller.start();
        awaitBlockedInTheKernel(poller); // disabled with data waiting: it must block, not report
        assertEquals(0, delivered.get(), "the poll returned while read was disabled");
        queue.subscribeRead(p[0]);
        poller.join(EVENTUALLY.toMillis());
        assertFalse(poller.isAlive(), "the blocked poll did not see read re-enabled");
        assertEquals(1, delivered.get());
    }

    @Test
    void racingChangesFromManyThreadsLoseNoUpdate() throws Exception {
        int threads = 4;
        NativeSocketChannel[][] pairs = new NativeSocketChannel[threads][];
        for (int i = 0; i < threads; i++) {
            pairs[i] = pair();
            write(pairs[i][1], "x");
        }
        CountDownLatch go = new CountDownLatch(1);
        Thread[] changers = new Thread[threads];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < threads; i++) {
            NativeSocketChannel s = pairs[i][0];
            changers[i] = new Thread(() -> {
                try {
                    go.await();
                    for (int j = 0; j < 500; j++) {
                        queue.subscribeReadWrite(s);
                        queue.disableWrite(s);
                        queue.remove(s);
                        queue.subscribeRead(s);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            changers[i].start();
        }
        Thread poller = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    queue.poll(Duration.ofMillis(5), (s, ops) -> { });
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        poller.start();
        go.countDown();
        for (Thread t : changers) {
            t.join(EVENTUALLY.toMillis() * 3);
            assertFalse(t.isAlive());
        }
        poller.interrupt();
        poller.join(EVENTUALLY.toMillis());
        assertNull(failure.get());
        // Every socket ended subscribed for read only, and each is reported.
        int seen = 0;
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        boolean[] got = new boolean[threads];
        while (seen < threads && System.nanoTime() < deadline) {
            for (SocketEvent<NativeSocketChannel> e : queue.poll(Duration.ofMillis(100))) {
                for (int i = 0; i < threads; i++) {
                    if (e.socket() == pairs[i][0] && !got[i]) {
                        got[i] = true;
                        seen++;
                        assertEquals(SocketEvent.READ, e.readyOps() & (SocketEvent.READ | SocketEvent.WRITE));
                    }
                }
            }
        }
        assertEquals(threads, seen);
        for (NativeSocketChannel[] p : pairs) {
            assertTrue(queue.isSubscribedRead(p[0]) && !queue.isSubscribedWrite(p[0]));
        }
    }

    @Test
    void pollFromInsideAHandlerIsRefused() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        assertThrows(IllegalStateException.class,
                () -> queue.poll(EVENTUALLY, (s, ops) -> {
                    try {
                        queue.poll(Duration.ZERO);
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }));
        assertEquals(1, queue.poll(EVENTUALLY).size(), "the queue is usable afterwards");
    }

    @Test
    void severalPollersShareAQueueAndAllEndOnClose() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        int n = 3;
        AtomicInteger events = new AtomicInteger();
        Thread[] pollers = new Thread[n];
        for (int i = 0; i < n; i++) {
            pollers[i] = new Thread(() -> {
                try {
                    while (true) {
                        events.addAndGet(queue.poll(Duration.ofMillis(50), (s, ops) -> {
                            try {
                                readNow(s); // consume so the next poller does not see it again
                            } catch (Exception e) {
                                throw new RuntimeException(e);
                            }
                        }));
                    }
                } catch (io.polyplex.ClosedEventQueueException expected) {
                    // done
                } catch (Exception e) {
                    events.set(-1000);
                }
            });
            pollers[i].start();
        }
        write(p[1], "x");
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (events.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        queue.close();
        for (Thread t : pollers) {
            t.join(EVENTUALLY.toMillis());
            assertFalse(t.isAlive());
        }
        assertEquals(1, events.get(), "one readiness, one delivery");
    }
}
