package io.polyplex.net;

import static io.polyplex.net.VirtualThreadSupport.EVENTUALLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.polyplex.NativeIOException;
import io.polyplex.ParkingPoller;
import io.polyplex.conformance.ContractBase;
import io.polyplex.net.VirtualThreadSupport.PinnedRecording;
import io.polyplex.net.VirtualThreadSupport.Readers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Predicate;
import java.util.stream.Stream;
import jdk.jfr.consumer.RecordedEvent;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.Delegate;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The first proof: 10,000 virtual threads, each blocked reading its own native socket with
 * {@link BlockingSockets#read}, on the default scheduler. They all park (none holds a carrier: two
 * carriers here could not even start the 10,000 otherwise), nobody's wait ends before its data is
 * sent, the process burns almost no CPU while they wait (no busy polling), each gets its own data,
 * and a JFR recording of the whole run holds no {@code jdk.VirtualThreadPinned} event. On select,
 * as many readers as fit below FD_SETSIZE, and a wait on an fd above it fails with select's error.
 *
 * <p>The pinning check is shown to be able to fail by {@link #theJfrCheckSeesAWaitThatPins}: the same
 * wait, made from inside a native upcall, pins on every JDK, and the same assertion rejects it.
 */
@EnabledForJreRange(min = JRE.JAVA_21, disabledReason = VirtualThreadSupport.NEEDS_21)
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VirtualThreadReadTest {

    /** The figure. */
    private static final int READERS = 10_000;
    /** On select: 400 pairs (800 fds) fit under FD_SETSIZE next to the JVM's own fds. */
    private static final int SELECT_READERS = 400;
    /** fds the test needs besides the sockets: the pollers' queues and pipes, JFR's files, jars. */
    private static final int HEADROOM = 200;
    /** How long the CPU of the waiting process is measured. */
    private static final Duration CPU_WINDOW = Duration.ofSeconds(2);
    /** How many windows at most: the first one under the bound ends the measurement. */
    private static final int CPU_WINDOWS = 3;
    /** The most CPU the process may burn while everybody waits: a quarter of one core. */
    private static final double MAX_CORES_WHILE_WAITING = 0.25;
    /** Each read's timeout: generous, never the way a read ends here. */
    private static final Duration READ_TIMEOUT = Duration.ofMinutes(3);

    static Stream<String> backends() {
        return VirtualThreadSupport.backends();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void tenThousandVirtualThreadsParkOnTheirOwnSocketsWithoutPinningOrSpinning(String backend) throws Exception {
        int n = backend.equals("select") ? SELECT_READERS : READERS;
        long limit = VirtualThreadSupport.maxFds();
        int open = ContractBase.fdNumbers().size();
        boolean pairsFit = limit < 0 || open + 2L * n + HEADROOM <= limit;
        boolean udpFits = limit < 0 || open + n + 1L + HEADROOM <= limit;
        assumeTrue(udpFits, "RLIMIT_NOFILE is " + limit + " with " + open + " fds open: " + n
                + " readers need at least " + (n + 1 + HEADROOM) + " more (raise ulimit -n to run this)");

        Set<Integer> fdsBefore = ContractBase.fdNumbers();
        ParkingPoller poller = ParkingPoller.open(backend, ParkingPoller.defaultPollers());
        // Socketpairs take two fds a reader; a limit of 20,000 cannot hold 10,000 pairs and the JVM's
        // own fds, so then each reader gets a UDP socket instead: still its own native socket.
        Readers readers = pairsFit ? Readers.socketPairs(n) : Readers.udp(n);
        List<Thread> threads = new ArrayList<>(n);
        AtomicReferenceArray<Object> outcomes = new AtomicReferenceArray<>(n);
        AtomicInteger ended = new AtomicInteger();
        String report;
        List<RecordedEvent> pinned;
        try (readers; PinnedRecording jfr = PinnedRecording.start()) {
            BlockingSockets sockets = new BlockingSockets(poller);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                int id = i;
                threads.add(VirtualThreadSupport.startVirtual("reader-" + i, () -> {
                    try {
                        ByteBuffer b = ByteBuffer.allocate(8);
                        int got = sockets.read(readers.socket(id), b, READ_TIMEOUT);
                        outcomes.set(id, got == 4 ? b.getInt(0) : "read returned " + got);
                    } catch (Throwable e) {
                        outcomes.set(id, e);
                    } finally {
                        ended.incrementAndGet();
                    }
                }));
            }
            Predicate<Object> inPoller = blocker -> blocker == poller;
            VirtualThreadSupport.awaitAllParked(threads, inPoller, backend + ": readers parking in the ParkingPoller");
            long parkedAfter = System.nanoTime() - t0;
            assertEquals(0, ended.get(), "a read ended before any data was sent");

            // Everybody waits: measure the whole process's CPU over a fixed window (the window is the
            // measurement itself, not a wait for anything). The start-up's garbage is collected first,
            // and a window spoilt by the JVM's own background work (the JIT, the GC: a few hundred ms
            // seen once) is measured again, twice at most; a poller that spins spoils every window.
            System.gc();
            List<String> windows = new ArrayList<>();
            double cores = Double.MAX_VALUE;
            for (int w = 0; w < CPU_WINDOWS && cores >= MAX_CORES_WHILE_WAITING; w++) {
                java.util.Map<String, Long> threadCpu0 = VirtualThreadSupport.threadCpuNanos();
                long cpu0 = VirtualThreadSupport.processCpuNanos();
                long wall0 = System.nanoTime();
                Thread.sleep(CPU_WINDOW.toMillis());
                long cpu = VirtualThreadSupport.processCpuNanos() - cpu0;
                long wall = System.nanoTime() - wall0;
                cores = (double) cpu / wall;
                windows.add(cpu / 1_000_000 + " ms of CPU in " + wall / 1_000_000 + " ms (" + percent(cores)
                        + " of a core" + (cores < MAX_CORES_WHILE_WAITING ? ")"
                                : "; busiest threads " + VirtualThreadSupport.topCpuSince(threadCpu0) + ")"));
            }
            VirtualThreadSupport.assertAllParked(threads, inPoller, backend + ": a reader stopped waiting with no data");
            assertEquals(0, ended.get(), "a read ended before any data was sent");
            assertTrue(cores < MAX_CORES_WHILE_WAITING, backend + ": " + n + " waiting readers cost more than "
                    + percent(MAX_CORES_WHILE_WAITING) + " of a core in every window, busy polling? " + windows);

            long t1 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                readers.send(i, ByteBuffer.allocate(4).putInt(0, i));
            }
            VirtualThreadSupport.joinAll(threads, backend + ": readers after their data was sent");
            long readAfter = System.nanoTime() - t1;
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < n && wrong.size() < 5; i++) {
                if (!Integer.valueOf(i).equals(outcomes.get(i))) {
                    wrong.add("reader " + i + ": " + outcomes.get(i));
                }
            }
            assertEquals(List.of(), wrong, backend + ": readers that did not get their own data");
            pinned = jfr.stopAndRead();
            report = String.format("%s: %d virtual threads on %d carriers reading %s with %d poller(s): all parked"
                    + " %d ms after the first start; while they waited the process used %s; all had their data %d ms after it was sent; %d %s events",
                    backend, n, VirtualThreadSupport.carriers(), readers.kind(), poller.pollers(),
                    parkedAfter / 1_000_000, String.join(", then ", windows),
                    readAfter / 1_000_000, pinned.size(), VirtualThreadSupport.PINNED);
        } finally {
            poller.close();
        }
        System.out.println(report);
        VirtualThreadSupport.assertNoPinning(pinned, backend + ": virtual threads pinned while they waited");
        Set<Integer> left = ContractBase.newFds(fdsBefore);
        assertEquals(Set.of(), left, backend + ": fds left open: " + VirtualThreadSupport.describeFds(left));
    }

    /**
     * select holds fds below FD_SETSIZE only: a wait on one above fails at once with select's own
     * error naming the fd and the limit, on the calling (virtual) thread, and the poller goes on
     * serving the fds that fit.
     */
    @SuppressWarnings("try") // the peer is only closed after the test, never used in it
    @Test
    void onSelectAWaitOnAnFdAtOrAboveFdSetsizeFailsWithItsClearError() throws Exception {
        assumeTrue(backends().anyMatch("select"::equals), "the select backend does not run here");
        POSIX posix = POSIXFactory.getNativePOSIX();
        int high = 1024;
        while (posix.fcntl(high, jnr.constants.platform.Fcntl.F_GETFD) >= 0) {
            high++;
        }
        long limit = VirtualThreadSupport.maxFds();
        assumeTrue(limit < 0 || high < limit, "RLIMIT_NOFILE is " + limit + ": no fd above FD_SETSIZE can be had");

        Set<Integer> fdsBefore = ContractBase.fdNumbers();
        try (ParkingPoller poller = ParkingPoller.open("select", 1)) {
            BlockingSockets sockets = new BlockingSockets(poller);
            NativeSocketChannel[] pair = NativeSockets.socketPair();
            NativeSocketChannel[] low = NativeSockets.socketPair();
            assertEquals(high, posix.dup2(pair[0].getFD(), high), "dup2 onto fd " + high);
            pair[0].close();
            try (NativeSocketChannel above = new NativeSocketChannel(high); NativeSocketChannel peer = pair[1];
                 NativeSocketChannel lowReader = low[0]; NativeSocketChannel lowPeer = low[1]) {
                AtomicReference<Object> outcome = new AtomicReference<>();
                Thread t = VirtualThreadSupport.startVirtual("above-fd-setsize", () -> {
                    try {
                        outcome.set(sockets.read(above, ByteBuffer.allocate(4), EVENTUALLY));
                    } catch (Throwable e) {
                        outcome.set(e);
                    }
                });
                VirtualThreadSupport.joinAll(List.of(t), "a wait on fd " + high);
                NativeIOException e = assertInstanceOf(NativeIOException.class, outcome.get());
                assertTrue(e.getMessage().contains("fd " + high + " is >= FD_SETSIZE (1024)"), e.getMessage());
                System.out.println("select, a wait on fd " + high + ": " + e.getMessage());

                // the poller is unharmed: a wait on a low fd still ends with its data
                AtomicReference<Object> lowOutcome = new AtomicReference<>();
                Thread r = VirtualThreadSupport.startVirtual("below-fd-setsize", () -> {
                    try {
                        ByteBuffer b = ByteBuffer.allocate(4);
                        sockets.read(lowReader, b, EVENTUALLY);
                        lowOutcome.set(b.get(0));
                    } catch (Throwable x) {
                        lowOutcome.set(x);
                    }
                });
                VirtualThreadSupport.awaitAllParked(List.of(r), blocker -> blocker == poller, "a wait on a low fd");
                NativeSockets.send(lowPeer.getFD(), ByteBuffer.wrap(new byte[] {42}));
                VirtualThreadSupport.joinAll(List.of(r), "a wait on a low fd after its data");
                assertEquals((byte) 42, lowOutcome.get());
            }
        }
        assertEquals(Set.of(), ContractBase.newFds(fdsBefore), "fds left open");
    }

    /** libc's qsort: the comparator is a Java upcall from native code, which pins a virtual thread. */
    public interface Qsort {
        /** The comparator, called from native code. */
        interface Comparator {
            @Delegate
            int compare(Pointer a, Pointer b);
        }

        void qsort(Pointer base, long count, long size, Comparator comparator);
    }

    /**
     * The pinning check can fail: a virtual thread that makes the very wait the readers make, but
     * from inside a native upcall (a qsort comparator), cannot unmount and parks pinned, on every JDK
     * with virtual threads (on 21 to 23 a wait inside {@code synchronized} would do too; from 24
     * that no longer pins). The recording holds the event, its stack shows the ParkingPoller, and
     * {@link VirtualThreadSupport#assertNoPinning}, the assertion the readers pass, rejects it.
     *
     * <p>What the recording cannot show: a thread blocked in a native call that never parks (a
     * blocking read(2)) holds its carrier without any {@code jdk.VirtualThreadPinned} event. The
     * readers' proof covers that case by their states: such a thread is RUNNABLE, never parked in
     * the poller, and with two carriers the 10,000 could not all start.
     */
    @SuppressWarnings("try") // the peer is only closed after the test, never used in it
    @Test
    void theJfrCheckSeesAWaitThatPins() throws Exception {
        Qsort libc = LibraryLoader.create(Qsort.class).load("c");
        List<RecordedEvent> pinned;
        try (ParkingPoller poller = ParkingPoller.open(); PinnedRecording jfr = PinnedRecording.start()) {
            NativeSocketChannel[] pair = NativeSockets.socketPair();
            try (NativeSocketChannel ch = pair[0]; NativeSocketChannel peer = pair[1]) {
                ConcurrentLinkedQueue<Object> outcomes = new ConcurrentLinkedQueue<>();
                Thread t = VirtualThreadSupport.startVirtual("pinned-waiter", () -> {
                    Pointer two = Memory.allocateDirect(jnr.ffi.Runtime.getRuntime(libc), 8, true);
                    libc.qsort(two, 2, 4, (a, b) -> {
                        try {
                            outcomes.add(poller.awaitReadable(ch, Duration.ofMillis(50)));
                        } catch (Throwable e) {
                            outcomes.add(e);
                        }
                        return 0;
                    });
                });
                VirtualThreadSupport.joinAll(List.of(t), "the pinned waiter");
                assertEquals(List.of(0), List.copyOf(outcomes), "the wait inside the upcall timed out once");
            }
            pinned = jfr.stopAndRead();
        }
        assertFalse(pinned.isEmpty(), "a wait inside a native upcall did not show as pinned: the check is blind");
        assertTrue(pinned.stream().anyMatch(e -> VirtualThreadSupport.stackHas(e, ParkingPoller.class)),
                "no pinned event in ParkingPoller's wait:\n" + pinned.stream().map(VirtualThreadSupport::describe)
                        .reduce("", String::concat));
        AssertionError rejected = assertThrows(AssertionError.class,
                () -> VirtualThreadSupport.assertNoPinning(pinned, "the deliberately pinned wait"));
        System.out.println("the pinning check, given a wait inside a native upcall: " + rejected.getMessage());
    }

    private static <T> T assertInstanceOf(Class<T> type, Object value) {
        return org.junit.jupiter.api.Assertions.assertInstanceOf(type, value, String.valueOf(value));
    }

    private static String percent(double cores) {
        return String.format("%.1f%%", cores * 100);
    }
}
