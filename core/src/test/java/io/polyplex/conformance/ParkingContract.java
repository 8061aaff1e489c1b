package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.Capability;
import io.polyplex.ClosedParkingPollerException;
import io.polyplex.EventQueue;
import io.polyplex.ParkingPoller;
import io.polyplex.SocketEvent;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.AsynchronousCloseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToIntFunction;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link ParkingPoller} on the backend under test, waited on by platform threads (the virtual-thread
 * proofs run on JDK 21+ in integration-tests), with platform pollers or, where {@link
 * #virtualPollers()} says so, virtual ones: a wait ends when the fd is ready, on a peer's close or an
 * error, never before its timeout; an interrupt ends that wait alone; closing an fd through the
 * service ends exactly its waits; a later socket on a reused fd number never wakes a wait made on the
 * old one; closing the service ends every wait and leaves no fd open.
 */
public abstract class ParkingContract extends ContractBase {

    /** The backend under test, as a ParkingPoller takes it. */
    private ParkingPoller.Queues queues() {
        return new ParkingPoller.Queues() {
            @Override
            public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
                return ParkingContract.this.open(fdOf);
            }
        };
    }

    /**
     * Whether the pollers are to be virtual threads. Where the JDK or the backend does not allow
     * them, every test is skipped (the platform-poller run covers that service).
     */
    protected boolean virtualPollers() {
        return false;
    }

    /** A service on the backend under test, with the kind of pollers this run is for; not closed. */
    private ParkingPoller openParker(int pollers) throws IOException {
        ParkingPoller p = ParkingPoller.open(queues(), pollers, virtualPollers());
        if (p.virtualPollers() != virtualPollers()) {
            p.close();
            Assumptions.assumeTrue(false, "virtual pollers need JDK 21+ and a backend whose queue is an fd"
                    + " (epoll); this service would have platform pollers, which the other run covers");
        }
        return p;
    }

    private ParkingPoller parker(int pollers) throws IOException {
        ParkingPoller p = openParker(pollers);
        closeLater(p);
        return p;
    }

    /** Starts a thread that waits for {@code direction} on {@code ch} and records the outcome. */
    private static Thread waiter(ParkingPoller p, NativeSocketChannel ch, int direction, Duration timeout,
                                 AtomicReference<Object> outcome) {
        Thread t = new Thread(() -> {
            try {
                int ops = direction == SocketEvent.READ ? p.awaitReadable(ch, timeout) : p.awaitWritable(ch, timeout);
                outcome.set(ops);
            } catch (Throwable e) {
                outcome.set(e);
            }
        }, "parked-waiter");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Waits until {@code t} is parked in a ParkingPoller's wait: its blocker says so. Its state alone
     * (WAITING) would also match a thread still queued for the poller's lock, whose wait is not
     * registered yet.
     */
    private static void awaitParked(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (!(java.util.concurrent.locks.LockSupport.getBlocker(t) instanceof ParkingPoller)
                || t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(t.isAlive() && System.nanoTime() < deadline, "the waiter never parked: " + t.getState());
            Thread.sleep(1);
        }
    }

    private static void join(Thread t) throws InterruptedException {
        t.join(EVENTUALLY.toMillis());
        assertFalse(t.isAlive(), "the wait did not end within " + EVENTUALLY);
    }

    @Test
    void aWaitEndsWhenDataArrivesAndReportsRead() throws Exception {
        ParkingPoller p = parker(1);
        NativeSocketChannel[] pair = pair();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = waiter(p, pair[0], SocketEvent.READ, null, outcome);
        awaitParked(t);
        assertNull(outcome.get(), "ended before any data");
        write(pair[1], "x");
        join(t);
        assertEquals(SocketEvent.READ, ((Integer) outcome.get()) & SocketEvent.READ, "outcome " + outcome.get());
        assertEquals("x", readNow(pair[0]), "waiting consumed data");
    }

    @Test
    void aWritableSocketEndsAWriteWaitAtOnce() throws Exception {
        ParkingPoller p = parker(1);
        NativeSocketChannel[] pair = pair();
        int ops = p.awaitWritable(pair[0], EVENTUALLY);
        assertEquals(SocketEvent.WRITE, ops & SocketEvent.WRITE, SocketEvent.opsToString(ops));
    }

    @Test
    void aTimeoutIsNeverCutShortAndReturnsZero() throws Exception {
        ParkingPoller p = parker(1);
        NativeSocketChannel[] pair = pair();
        for (long ms : new long[] {1, 50, 300}) {
            long start = System.nanoTime();
            assertEquals(0, p.awaitReadable(pair[0], Duration.ofMillis(ms)));
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(ms), "returned after " + waited + " ns of " + ms + " ms");
        }
        // and the fd is not left registered: data after a timed-out wait wakes the next wait
        write(pair[1], "y");
        assertEquals(SocketEvent.READ, p.awaitReadable(pair[0], EVENTUALLY) & SocketEvent.READ);
    }

    @Test
    void aPeerCloseEndsAReadWait() throws Exception {
        ParkingPoller p = parker(1);
        NativeSocketChannel[] pair = pair();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = waiter(p, pair[0], SocketEvent.READ, null, outcome);
        awaitParked(t);
        pair[1].close();
        join(t);
        int ops = (Integer) outcome.get();
        assertTrue((ops & (SocketEvent.READ | SocketEvent.PEER_CLOSED)) != 0, SocketEvent.opsToString(ops));
        if (capabilities().contains(Capability.KERNEL_PEER_CLOSED)) {
            assertEquals(SocketEvent.PEER_CLOSED, ops & SocketEvent.PEER_CLOSED, SocketEvent.opsToString(ops));
        }
        assertNull(readNow(pair[0]), "the peer's close is the end of stream");
    }

    @Test
    void aResetEndsAReadWaitWithAnError() throws Exception {
        ParkingPoller p = parker(1);
        NativeSocketChannel[] tcp = tcpPair();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = waiter(p, tcp[0], SocketEvent.READ, null, outcome);
        awaitParked(t);
        io.polyplex.net.NativeSockets.abort(tcp[1]);
        join(t);
        int ops = (Integer) outcome.get();
        assertTrue((ops & SocketEvent.READ) != 0 && (ops & (SocketEvent.ERROR | SocketEvent.PEER_CLOSED)) != 0,
                SocketEvent.opsToString(ops));
    }

    @Test
    void anInterruptEndsThatWaitAloneWithInterruptedIOException() throws Exception {
        ParkingPoller p = parker(1);
        NativeSocketChannel[] a = pair();
        NativeSocketChannel[] b = pair();
        AtomicReference<Object> first = new AtomicReference<>();
        AtomicReference<Object> second = new AtomicReference<>();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        Thread t1 = new Thread(() -> {
            try {
                first.set(p.awaitReadable(a[0], null));
            } catch (Throwable e) {
                first.set(e);
            }
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        }, "interrupted-waiter");
        t1.start();
        Thread t2 = waiter(p, b[0], SocketEvent.READ, null, second);
        awaitParked(t1);
        awaitParked(t2);
        t1.interrupt();
        join(t1);
        assertInstanceOf(InterruptedIOException.class, first.get(), "outcome " + first.get());
        assertTrue(stillInterrupted.get(), "the interrupt status must stay set");
        assertTrue(t2.isAlive() && second.get() == null, "the other waiter was ended too: " + second.get());
        write(b[1], "z");
        join(t2);
        assertEquals(SocketEvent.READ, ((Integer) second.get()) & SocketEvent.READ);
        // the interrupted wait left nothing behind: a, when ready, wakes a new wait
        write(a[1], "w");
        assertEquals(SocketEvent.READ, p.awaitReadable(a[0], EVENTUALLY) & SocketEvent.READ);
    }

    @Test
    void closingAChannelThroughTheServiceEndsExactlyItsWaits() throws Exception {
        ParkingPoller p = parker(2);
        NativeSocketChannel[] doomed = pair();
        NativeSocketChannel[] other = pair();
        List<AtomicReference<Object>> outcomes = new ArrayList<>();
        List<Thread> waiters = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            AtomicReference<Object> o = new AtomicReference<>();
            outcomes.add(o);
            waiters.add(waiter(p, doomed[0], SocketEvent.READ, i == 1 ? Duration.ofHours(1) : null, o));
        }
        AtomicReference<Object> bystander = new AtomicReference<>();
        Thread b = waiter(p, other[0], SocketEvent.READ, null, bystander);
        for (Thread t : waiters) {
            awaitParked(t);
        }
        awaitParked(b);
        int fd = doomed[0].getFD();
        p.close(doomed[0]);
        assertFalse(doomed[0].isOpen());
        assertFalse(fdNumbers().contains(fd), "the fd is still open after close");
        for (int i = 0; i < 3; i++) {
            join(waiters.get(i));
            assertInstanceOf(AsynchronousCloseException.class, outcomes.get(i).get(), "waiter " + i);
        }
        assertTrue(b.isAlive() && bystander.get() == null, "a waiter on another fd was ended: " + bystander.get());
        write(other[1], "still here");
        join(b);
        assertEquals(SocketEvent.READ, ((Integer) bystander.get()) & SocketEvent.READ);
    }

    @Test
    void aLaterSocketOnAReusedFdNeverWakesAWaitOnTheOldOne() throws Exception {
        ParkingPoller p = parker(1);
        NativeSocketChannel[] old = pair();
        int fd = old[0].getFD();
        AtomicReference<Object> oldOutcome = new AtomicReference<>();
        Thread oldWaiter = waiter(p, old[0], SocketEvent.READ, null, oldOutcome);
        awaitParked(oldWaiter);
        old[0].close(); // behind the service's back
        NativeSocketChannel[] reused = pairOnFd(fd);
        assertEquals(fd, reused[0].getFD());
        write(reused[1], "for the new socket");
        // Let the poller look at its set again before the new socket is waited on: a wait on another
        // ready socket makes poll and select rebuild their sets, which still hold the old
        // registration's fd number, now the new socket's. Without it the new wait below usually
        // ends the old one first, and the race (the poller reporting the new socket's data to the
        // old wait) would rarely be seen.
        NativeSocketChannel[] other = pair();
        write(other[1], "x");
        assertEquals(SocketEvent.READ, p.awaitReadable(other[0], EVENTUALLY) & SocketEvent.READ);
        int ops = p.awaitReadable(reused[0], EVENTUALLY);
        assertEquals(SocketEvent.READ, ops & SocketEvent.READ);
        join(oldWaiter);
        assertInstanceOf(AsynchronousCloseException.class, oldOutcome.get(),
                "the old socket's wait must not see the new socket's data: " + oldOutcome.get());
        assertEquals("for the new socket", readNow(reused[0]));
    }

    @Test
    void closingTheServiceEndsEveryWaitAndLeavesNoFdOpen() throws Exception {
        Set<Integer> before = fdNumbers();
        ParkingPoller p = openParker(2);
        List<NativeSocketChannel[]> pairs = new ArrayList<>();
        List<Thread> waiters = new ArrayList<>();
        List<AtomicReference<Object>> outcomes = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            NativeSocketChannel[] pair = io.polyplex.net.NativeSockets.socketPair();
            pairs.add(pair);
            AtomicReference<Object> o = new AtomicReference<>();
            outcomes.add(o);
            waiters.add(waiter(p, pair[0], SocketEvent.READ, i % 2 == 0 ? null : Duration.ofHours(1), o));
        }
        for (Thread t : waiters) {
            awaitParked(t);
        }
        long start = System.nanoTime();
        p.close();
        for (int i = 0; i < waiters.size(); i++) {
            join(waiters.get(i));
            assertInstanceOf(ClosedParkingPollerException.class, outcomes.get(i).get(), "waiter " + i);
        }
        assertTrue(System.nanoTime() - start < EVENTUALLY.toNanos());
        assertThrows(ClosedParkingPollerException.class, () -> p.awaitReadable(pairs.get(0)[0], Duration.ofSeconds(1)));
        for (NativeSocketChannel[] pair : pairs) {
            assertTrue(pair[0].isOpen(), "the service closed a caller's socket");
            pair[0].close();
            pair[1].close();
        }
        assertEquals(Set.of(), newFds(before), "fds left open by the service");
    }

    @Test
    void manyThreadsOnManyFdsEachGetTheirOwnData() throws Exception {
        ParkingPoller p = parker(2);
        int n = 64;
        List<NativeSocketChannel[]> pairs = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        AtomicInteger right = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < n; i++) {
            NativeSocketChannel[] pair = pair();
            pairs.add(pair);
            String expected = "m" + i;
            Thread t = new Thread(() -> {
                try {
                    int ops = p.awaitReadable(pair[0], EVENTUALLY);
                    if ((ops & SocketEvent.READ) != 0 && expected.equals(readNow(pair[0]))) {
                        right.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            t.start();
            threads.add(t);
        }
        for (int i = n - 1; i >= 0; i--) {
            write(pairs.get(i)[1], "m" + i);
        }
        for (Thread t : threads) {
            join(t);
        }
        assertNull(failure.get());
        assertEquals(n, right.get());
    }

    @Test
    void badArgumentsAreRefusedClearly() throws Exception {
        ParkingPoller p = parker(1);
        assertThrows(IllegalArgumentException.class, () -> p.awaitReadable(-1, null));
        NativeSocketChannel[] pair = pair();
        assertThrows(IllegalArgumentException.class, () -> p.awaitReadable(pair[0], Duration.ofMillis(-1)));
        assertThrows(NullPointerException.class, () -> p.awaitReadable((NativeSocketChannel) null, null));
        assertThrows(IllegalArgumentException.class, () -> ParkingPoller.open(queues(), 0, virtualPollers()));
    }

    private Set<Capability> capabilities() {
        return queue.capabilities();
    }
}
