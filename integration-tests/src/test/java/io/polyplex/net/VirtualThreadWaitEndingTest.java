package io.polyplex.net;

import static io.polyplex.net.VirtualThreadSupport.EVENTUALLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.ClosedParkingPollerException;
import io.polyplex.ParkingPoller;
import io.polyplex.conformance.ContractBase;
import io.polyplex.net.VirtualThreadSupport.Readers;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The second proof, with 1,000 virtual threads blocked in {@link BlockingSockets#read} (400
 * on select, to stay below FD_SETSIZE): an interrupt ends its own thread's wait alone; closing a
 * channel through the poller ends exactly the waits on that channel; closing the poller ends every
 * wait within a generous bound and leaves no fd open. "Alone" and "exactly" are checked on every
 * other waiter, which must still be parked in the poller and without an outcome.
 */
@EnabledForJreRange(min = JRE.JAVA_21, disabledReason = VirtualThreadSupport.NEEDS_21)
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VirtualThreadWaitEndingTest {

    private static final int WAITERS = 1_000;
    private static final int SELECT_WAITERS = 400;
    private static final Duration READ_TIMEOUT = Duration.ofMinutes(3);

    static Stream<String> backends() {
        return VirtualThreadSupport.backends();
    }

    /** One reader on a virtual thread per socket, each recording what its read ended with. */
    private static final class Waiters {
        final List<Thread> threads = new ArrayList<>();
        final AtomicReferenceArray<Object> outcomes;
        final AtomicReferenceArray<Boolean> interruptKept;
        final AtomicInteger ended = new AtomicInteger();

        Waiters(int n) {
            outcomes = new AtomicReferenceArray<>(n);
            interruptKept = new AtomicReferenceArray<>(n);
        }

        /** Starts a thread that reads {@code ch} and records the outcome in slot {@code id}. */
        void start(int id, BlockingSockets sockets, NativeSocketChannel ch) {
            threads.add(VirtualThreadSupport.startVirtual("waiter-" + id, () -> {
                try {
                    ByteBuffer b = ByteBuffer.allocate(8);
                    int got = sockets.read(ch, b, READ_TIMEOUT);
                    outcomes.set(id, got == 4 ? b.getInt(0) : "read returned " + got);
                } catch (Throwable e) {
                    outcomes.set(id, e);
                    interruptKept.set(id, Thread.currentThread().isInterrupted());
                } finally {
                    ended.incrementAndGet();
                }
            }));
        }

        /** The slots, other than {@code except}, whose reads ended: must be none. */
        List<String> endedExcept(Set<Integer> except) {
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < outcomes.length(); i++) {
                if (!except.contains(i) && (outcomes.get(i) != null || !threads.get(i).isAlive())) {
                    wrong.add("waiter " + i + ": " + outcomes.get(i));
                }
            }
            return wrong;
        }

        /** Threads but those in {@code except}. */
        List<Thread> others(Set<Integer> except) {
            List<Thread> list = new ArrayList<>();
            for (int i = 0; i < threads.size(); i++) {
                if (!except.contains(i)) {
                    list.add(threads.get(i));
                }
            }
            return list;
        }

        /** Slots, but those in {@code except}, that did not read their own number. */
        List<String> withoutTheirData(Set<Integer> except) {
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < outcomes.length() && wrong.size() < 5; i++) {
                if (!except.contains(i) && !Integer.valueOf(i).equals(outcomes.get(i))) {
                    wrong.add("waiter " + i + ": " + outcomes.get(i));
                }
            }
            return wrong;
        }
    }

    private static int waiters(String backend) {
        return backend.equals("select") ? SELECT_WAITERS : WAITERS;
    }

    private static void sendEveryone(Readers readers) throws IOException {
        for (int i = 0; i < readers.size(); i++) {
            readers.send(i, ByteBuffer.allocate(4).putInt(0, i));
        }
    }

    /**
     * Interrupting one of 1,000 waiters ends that one alone, with InterruptedIOException and its
     * interrupt status kept; the 999 others stay parked, and all of them get their data later.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void anInterruptEndsThatWaitAlone(String backend) throws Exception {
        int n = waiters(backend);
        Set<Integer> fdsBefore = ContractBase.fdNumbers();
        Waiters w = new Waiters(n);
        try (ParkingPoller poller = ParkingPoller.open(backend, ParkingPoller.defaultPollers());
             Readers readers = Readers.socketPairs(n)) {
            BlockingSockets sockets = new BlockingSockets(poller);
            for (int i = 0; i < n; i++) {
                w.start(i, sockets, readers.socket(i));
            }
            Predicate<Object> inPoller = blocker -> blocker == poller;
            VirtualThreadSupport.awaitAllParked(w.threads, inPoller, backend + ": waiters");

            int victim = n / 2;
            Set<Integer> gone = Set.of(victim);
            w.threads.get(victim).interrupt();
            VirtualThreadSupport.joinAll(List.of(w.threads.get(victim)), backend + ": the interrupted waiter");
            assertInstanceOf(InterruptedIOException.class, w.outcomes.get(victim), String.valueOf(w.outcomes.get(victim)));
            assertEquals(Boolean.TRUE, w.interruptKept.get(victim), "the interrupt status was cleared");
            assertEquals(List.of(), w.endedExcept(gone), backend + ": the interrupt ended other waits too");
            VirtualThreadSupport.assertAllParked(w.others(gone), inPoller, backend + ": the other waiters stopped waiting");
            assertEquals(1, w.ended.get());

            sendEveryone(readers);
            VirtualThreadSupport.joinAll(w.threads, backend + ": the waiters after their data was sent");
            assertEquals(List.of(), w.withoutTheirData(gone), backend + ": waiters without their data");
            System.out.println(backend + ": interrupted 1 of " + n + " virtual-thread waiters: it alone ended ("
                    + w.outcomes.get(victim) + "); the other " + (n - 1) + " read their data");
        }
        assertEquals(Set.of(), ContractBase.newFds(fdsBefore), backend + ": fds left open");
    }

    /**
     * {@link ParkingPoller#close(java.nio.channels.Channel)} on a channel that eight virtual threads
     * wait on (four to read, four to write into its full send buffer) ends exactly those eight, with
     * AsynchronousCloseException, and closes it; the waiters on the 1,000 other channels stay parked
     * and later get their data.
     */
    @SuppressWarnings("try") // the shared channel's peer is only closed after the test, never used in it
    @ParameterizedTest
    @MethodSource("backends")
    void closingAChannelThroughThePollerEndsExactlyItsWaiters(String backend) throws Exception {
        int n = waiters(backend);
        int sharers = 8;
        Set<Integer> fdsBefore = ContractBase.fdNumbers();
        Waiters w = new Waiters(n);
        NativeSocketChannel[] shared = NativeSockets.socketPair();
        try (ParkingPoller poller = ParkingPoller.open(backend, ParkingPoller.defaultPollers());
             Readers readers = Readers.socketPairs(n); NativeSocketChannel peer = shared[1]) {
            BlockingSockets sockets = new BlockingSockets(poller);
            for (int i = 0; i < n; i++) {
                w.start(i, sockets, readers.socket(i));
            }
            // fill the shared socket's send buffer, so that a write waits for room
            ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
            while (NativeSockets.send(shared[0].getFD(), chunk.clear()) > 0) {
                // until the kernel takes no more
            }
            AtomicReferenceArray<Object> sharedOutcomes = new AtomicReferenceArray<>(sharers);
            List<Thread> sharing = new ArrayList<>();
            for (int i = 0; i < sharers; i++) {
                int id = i;
                boolean reads = i % 2 == 0;
                sharing.add(VirtualThreadSupport.startVirtual("shared-" + (reads ? "reader-" : "writer-") + i, () -> {
                    try {
                        if (reads) {
                            sharedOutcomes.set(id, sockets.read(shared[0], ByteBuffer.allocate(4), READ_TIMEOUT));
                        } else {
                            sockets.write(shared[0], ByteBuffer.allocate(1), READ_TIMEOUT);
                            sharedOutcomes.set(id, "written");
                        }
                    } catch (Throwable e) {
                        sharedOutcomes.set(id, e);
                    }
                }));
            }
            Predicate<Object> inPoller = blocker -> blocker == poller;
            VirtualThreadSupport.awaitAllParked(w.threads, inPoller, backend + ": waiters");
            VirtualThreadSupport.awaitAllParked(sharing, inPoller, backend + ": the shared channel's waiters");

            poller.close(shared[0]);
            VirtualThreadSupport.joinAll(sharing, backend + ": the shared channel's waiters after its close");
            for (int i = 0; i < sharers; i++) {
                assertInstanceOf(AsynchronousCloseException.class, sharedOutcomes.get(i),
                        "shared waiter " + i + ": " + sharedOutcomes.get(i));
            }
            assertFalse(shared[0].isOpen(), "close(channel) did not close the channel");
            assertEquals(List.of(), w.endedExcept(Set.of()), backend + ": closing one channel ended other waits");
            VirtualThreadSupport.assertAllParked(w.threads, inPoller, backend + ": the other waiters stopped waiting");

            sendEveryone(readers);
            VirtualThreadSupport.joinAll(w.threads, backend + ": the waiters after their data was sent");
            assertEquals(List.of(), w.withoutTheirData(Set.of()), backend + ": waiters without their data");
            System.out.println(backend + ": closed a channel " + sharers + " virtual threads waited on, next to "
                    + n + " others: exactly those " + sharers + " ended (AsynchronousCloseException); the " + n
                    + " others read their data");
        } finally {
            shared[0].close();
        }
        assertEquals(Set.of(), ContractBase.newFds(fdsBefore), backend + ": fds left open");
    }

    /**
     * {@link ParkingPoller#close()} ends all 1,000 waits with ClosedParkingPollerException within a
     * generous bound, later waits fail the same way, and once the test's own sockets are closed too
     * no fd is left open: the pollers' queues and their pipes are gone, and so are their threads.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void closingThePollerEndsEveryWaitAndLeavesNoFdOpen(String backend) throws Exception {
        int n = waiters(backend);
        Set<Integer> fdsBefore = ContractBase.fdNumbers();
        Set<String> pollerThreadsBefore = VirtualThreadSupport.liveThreadNames(POLLER_THREADS);
        Waiters w = new Waiters(n);
        long took;
        ParkingPoller poller = ParkingPoller.open(backend, ParkingPoller.defaultPollers());
        try (Readers readers = Readers.socketPairs(n)) {
            BlockingSockets sockets = new BlockingSockets(poller);
            for (int i = 0; i < n; i++) {
                w.start(i, sockets, readers.socket(i));
            }
            VirtualThreadSupport.awaitAllParked(w.threads, blocker -> blocker == poller, backend + ": waiters");
            assertEquals(0, w.ended.get(), "a wait ended before the poller was closed");

            long t0 = System.nanoTime();
            poller.close();
            VirtualThreadSupport.joinAll(w.threads, backend + ": the waiters after the poller's close");
            took = System.nanoTime() - t0;
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < n && wrong.size() < 5; i++) {
                if (!(w.outcomes.get(i) instanceof ClosedParkingPollerException)) {
                    wrong.add("waiter " + i + ": " + w.outcomes.get(i));
                }
            }
            assertEquals(List.of(), wrong, backend + ": waiters not ended by the poller's close");
            assertTrue(took < EVENTUALLY.toNanos(), "closing took " + took / 1_000_000 + " ms");
            assertThrows(ClosedParkingPollerException.class,
                    () -> sockets.read(readers.socket(0), ByteBuffer.allocate(4), READ_TIMEOUT));
            for (int i = 0; i < n; i++) {
                assertTrue(readers.socket(i).isOpen(), "the poller's close closed a caller's socket");
            }
        } finally {
            poller.close();
        }
        Set<Integer> left = ContractBase.newFds(fdsBefore);
        assertEquals(Set.of(), left, backend + ": fds left open: " + VirtualThreadSupport.describeFds(left));
        Set<String> started = VirtualThreadSupport.liveThreadNames(POLLER_THREADS);
        started.removeAll(pollerThreadsBefore);
        assertEquals(Set.of(), started, backend + ": poller threads left running");
        System.out.println(backend + ": closing the poller ended all " + n + " virtual-thread waits in "
                + took / 1_000_000 + " ms; no fd and no poller thread left");
    }

    /** The names of a ParkingPoller's threads: its pollers (virtual or not) and its master. */
    private static final String POLLER_THREADS = "polyplex-parking-";
}
