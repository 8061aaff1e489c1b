package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ParkingPoller} on the backend under test, waited on by platform threads (the virtual-thread
 * proofs run on JDK 21+ in integration-tests), with each kind of poller the backend allows (platform;
 * virtual on JDK 21+ where the queue is an fd): a wait ends when the fd is ready, on a peer's close
 * or an error, with exactly the bits that say why, never before its timeout and not much after it
 * (spurious wakes included); an interrupt ends that wait alone; closing an fd through the service
 * ends exactly its waits; a later socket on a reused fd number never wakes a wait made on the old
 * one; closing the service ends every wait at once and leaves no fd open.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ParkingContract extends ContractBase {

    /**
     * A bound for what must happen at once (no data, no timeout to wait for): far longer than any
     * scheduling delay on a busy 2-core box, far shorter than a stall behind a timeout or a join.
     */
    private static final Duration AT_ONCE = Duration.ofSeconds(5);

    /** The kind of poller threads a service runs. */
    protected record Pollers(boolean virtual) {
        @Override
        public String toString() {
            return virtual ? "virtual pollers" : "platform pollers";
        }
    }

    /**
     * Every kind of poller this backend and JDK allow, so that no test is generated that would have
     * to skip itself: platform pollers always, virtual ones where a service that asks for them gets
     * them (JDK 21+ over a backend whose queue is an fd). Where they must exist and do not (a lost
     * {@code pollableFd()}, or virtual threads not found on JDK 21+), {@code CapabilitiesPerOsTest}
     * fails: it pins, per OS and JDK, which backends have them, and why the others do not.
     */
    List<Pollers> pollers() throws IOException {
        boolean virtual;
        try (ParkingPoller probe = ParkingPoller.open(queues(), 1, true)) {
            virtual = probe.virtualPollers();
        }
        return virtual ? List.of(new Pollers(false), new Pollers(true)) : List.of(new Pollers(false));
    }

    /** The backend under test, as a ParkingPoller takes it. */
    private ParkingPoller.Queues queues() {
        return new ParkingPoller.Queues() {
            @Override
            public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
                return ParkingContract.this.open(fdOf);
            }
        };
    }

    /** A service on the backend under test, with the kind of pollers asked for; not closed. */
    private ParkingPoller openParker(Pollers kind, int pollers) throws IOException {
        ParkingPoller p = ParkingPoller.open(queues(), pollers, kind.virtual());
        if (p.virtualPollers() != kind.virtual()) {
            p.close();
            fail("asked for " + kind + ", the service has the other kind");
        }
        return p;
    }

    private ParkingPoller parker(Pollers kind, int pollers) throws IOException {
        ParkingPoller p = openParker(kind, pollers);
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

    private static void join(Thread t) throws InterruptedException {
        t.join(EVENTUALLY.toMillis());
        assertFalse(t.isAlive(), "the wait did not end within " + EVENTUALLY);
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void aWaitEndsWhenDataArrivesAndReportsRead(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
        NativeSocketChannel[] pair = pair();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = waiter(p, pair[0], SocketEvent.READ, null, outcome);
        awaitParkedInAParkingPoller(t);
        assertNull(outcome.get(), "ended before any data");
        write(pair[1], "x");
        join(t);
        assertEquals(SocketEvent.READ, outcome.get(), "outcome " + describe(outcome.get()));
        assertEquals("x", readNow(pair[0]), "waiting consumed data");
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void aWritableSocketEndsAWriteWaitAtOnce(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
        NativeSocketChannel[] pair = pair();
        long start = System.nanoTime();
        int ops = p.awaitWritable(pair[0], EVENTUALLY);
        long took = System.nanoTime() - start;
        assertEquals(SocketEvent.WRITE, ops, SocketEvent.opsToString(ops));
        assertTrue(took < AT_ONCE.toNanos(), "a write wait on a writable socket took " + took / 1_000_000 + " ms");
    }

    /**
     * A timed-out wait returns 0, never before its timeout, and not long after it even while it is
     * woken spuriously again and again (it parks for the time that is left, not its whole timeout).
     */
    @SuppressWarnings("try") // the spurious wakes only have to go on while the wait runs
    @ParameterizedTest
    @MethodSource("pollers")
    void aTimeoutIsNeverCutShortAndReturnsZero(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
        NativeSocketChannel[] pair = pair();
        for (long ms : new long[] {1, 50, 300}) {
            long start = System.nanoTime();
            int ops;
            try (SpuriousWakes wakes = new SpuriousWakes(Thread.currentThread())) {
                ops = p.awaitReadable(pair[0], Duration.ofMillis(ms));
            }
            long waited = System.nanoTime() - start;
            assertEquals(0, ops, SocketEvent.opsToString(ops));
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(ms), "returned after " + waited + " ns of " + ms + " ms");
            assertTrue(waited < TimeUnit.MILLISECONDS.toNanos(ms) + EVENTUALLY.toNanos() / 2,
                    "a wait of " + ms + " ms, woken spuriously, returned only after " + waited / 1_000_000 + " ms");
        }
        // and the fd is not left registered: data after a timed-out wait wakes the next wait
        write(pair[1], "y");
        assertEquals(SocketEvent.READ, p.awaitReadable(pair[0], EVENTUALLY));
    }

    /** A peer's orderly close ends a read wait as the end of stream: READ and PEER_CLOSED, no error. */
    @ParameterizedTest
    @MethodSource("pollers")
    void aPeerCloseEndsAReadWait(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
        NativeSocketChannel[] pair = pair();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = waiter(p, pair[0], SocketEvent.READ, null, outcome);
        awaitParkedInAParkingPoller(t);
        pair[1].close();
        join(t);
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED, outcome.get(), "outcome " + describe(outcome.get()));
        assertNull(readNow(pair[0]), "the peer's close is the end of stream");
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void aResetEndsAReadWaitWithAnError(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
        NativeSocketChannel[] tcp = tcpPair();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = waiter(p, tcp[0], SocketEvent.READ, null, outcome);
        awaitParkedInAParkingPoller(t);
        io.polyplex.net.NativeSockets.abort(tcp[1]);
        join(t);
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED | SocketEvent.ERROR, outcome.get(),
                "outcome " + describe(outcome.get()));
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void anInterruptEndsThatWaitAloneWithInterruptedIOException(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
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
        awaitParkedInAParkingPoller(t1);
        awaitParkedInAParkingPoller(t2);
        t1.interrupt();
        join(t1);
        assertInstanceOf(InterruptedIOException.class, first.get(), "outcome " + first.get());
        assertTrue(stillInterrupted.get(), "the interrupt status must stay set");
        assertTrue(t2.isAlive() && second.get() == null, "the other waiter was ended too: " + second.get());
        write(b[1], "z");
        join(t2);
        assertEquals(SocketEvent.READ, second.get(), "outcome " + describe(second.get()));
        // the interrupted wait left nothing behind: a, when ready, wakes a new wait
        write(a[1], "w");
        assertEquals(SocketEvent.READ, p.awaitReadable(a[0], EVENTUALLY));
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void closingAChannelThroughTheServiceEndsExactlyItsWaits(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 2);
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
            awaitParkedInAParkingPoller(t);
        }
        awaitParkedInAParkingPoller(b);
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
        assertEquals(SocketEvent.READ, bystander.get(), "outcome " + describe(bystander.get()));
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void aLaterSocketOnAReusedFdNeverWakesAWaitOnTheOldOne(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
        NativeSocketChannel[] old = pair();
        int fd = old[0].getFD();
        AtomicReference<Object> oldOutcome = new AtomicReference<>();
        Thread oldWaiter = waiter(p, old[0], SocketEvent.READ, null, oldOutcome);
        awaitParkedInAParkingPoller(oldWaiter);
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
        assertEquals(SocketEvent.READ, p.awaitReadable(other[0], EVENTUALLY));
        int ops = p.awaitReadable(reused[0], EVENTUALLY);
        assertEquals(SocketEvent.READ, ops, SocketEvent.opsToString(ops));
        join(oldWaiter);
        assertInstanceOf(AsynchronousCloseException.class, oldOutcome.get(),
                "the old socket's wait must not see the new socket's data: " + oldOutcome.get());
        assertEquals("for the new socket", readNow(reused[0]));
    }

    /**
     * Closing the service ends every wait at once (the close itself within {@link #AT_ONCE}, every
     * waiter gone within {@link #EVENTUALLY} of it, all told) and leaves no fd of its own open.
     */
    @ParameterizedTest
    @MethodSource("pollers")
    void closingTheServiceEndsEveryWaitAndLeavesNoFdOpen(Pollers kind) throws Exception {
        Set<Integer> before = fdNumbers();
        ParkingPoller p = openParker(kind, 2);
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
            awaitParkedInAParkingPoller(t);
        }
        long start = System.nanoTime();
        p.close();
        long closing = System.nanoTime() - start;
        assertTrue(closing < AT_ONCE.toNanos(), "close() took " + closing / 1_000_000 + " ms");
        long deadline = start + EVENTUALLY.toNanos();
        for (int i = 0; i < waiters.size(); i++) {
            waiters.get(i).join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            assertFalse(waiters.get(i).isAlive(), "waiter " + i + " still waits " + EVENTUALLY + " after close()");
            assertInstanceOf(ClosedParkingPollerException.class, outcomes.get(i).get(), "waiter " + i);
        }
        assertThrows(ClosedParkingPollerException.class, () -> p.awaitReadable(pairs.get(0)[0], Duration.ofSeconds(1)));
        for (NativeSocketChannel[] pair : pairs) {
            assertTrue(pair[0].isOpen(), "the service closed a caller's socket");
            pair[0].close();
            pair[1].close();
        }
        assertEquals(Set.of(), newFds(before), "fds left open by the service");
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void manyThreadsOnManyFdsEachGetTheirOwnData(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 2);
        int n = 64;
        List<NativeSocketChannel[]> pairs = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        AtomicInteger right = new AtomicInteger();
        List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int i = 0; i < n; i++) {
            NativeSocketChannel[] pair = pair();
            pairs.add(pair);
            String expected = "m" + i;
            Thread t = new Thread(() -> {
                try {
                    int ops = p.awaitReadable(pair[0], EVENTUALLY);
                    String got = readNow(pair[0]);
                    if (ops == SocketEvent.READ && expected.equals(got)) {
                        right.incrementAndGet();
                    } else {
                        wrong.add(expected + ": " + SocketEvent.opsToString(ops) + " " + got);
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
        assertEquals(List.of(), wrong);
        assertEquals(n, right.get());
    }

    @ParameterizedTest
    @MethodSource("pollers")
    void badArgumentsAreRefusedClearly(Pollers kind) throws Exception {
        ParkingPoller p = parker(kind, 1);
        assertThrows(IllegalArgumentException.class, () -> p.awaitReadable(-1, null));
        NativeSocketChannel[] pair = pair();
        assertThrows(IllegalArgumentException.class, () -> p.awaitReadable(pair[0], Duration.ofMillis(-1)));
        assertThrows(NullPointerException.class, () -> p.awaitReadable((NativeSocketChannel) null, null));
        assertThrows(IllegalArgumentException.class, () -> ParkingPoller.open(queues(), 0, kind.virtual()));
    }

    /** A waiter's outcome for a message: its bits by name, or what it threw. */
    private static String describe(Object outcome) {
        return outcome instanceof Integer ? SocketEvent.opsToString((Integer) outcome) : String.valueOf(outcome);
    }
}
