package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.EventQueue;
import io.polyplex.NativeIOException;
import io.polyplex.ParkingPoller;
import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToIntFunction;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * The rules of one {@link ParkingPoller} wait that {@link ParkingContract} does not pin down, each
 * on the backend under test with one platform poller: which event ends which wait and with which
 * bits (a wait reports its own direction, never the other one's; an event of the other direction
 * neither ends it nor disarms it), what an already-interrupted caller keeps, what {@code closeFd}
 * ends, and that a wait which ended without an event (timed out, interrupted, refused) leaves
 * nothing in the service that wakes its thread later. Each test was seen failing against the bug it
 * names (planted by hand, issue 23); they take milliseconds.
 */
public abstract class ParkingRulesContract extends ContractBase {

    private ParkingPoller parker() throws IOException {
        return closeLater(ParkingPoller.open(new ParkingPoller.Queues() {
            @Override
            public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
                return ParkingRulesContract.this.open(fdOf);
            }
        }, 1, false));
    }

    /** A wait on its own thread; its outcome (the bits, or what it threw) lands in {@code outcome}. */
    private static Thread waiter(AtomicReference<Object> outcome, Call wait) {
        Thread t = new Thread(() -> {
            try {
                outcome.set(wait.run());
            } catch (Throwable e) {
                outcome.set(e);
            }
        }, "parking-rules-waiter");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @FunctionalInterface
    private interface Call {
        Object run() throws Exception;
    }

    /** Waits until {@code t} is parked in a ParkingPoller wait (its blocker says so, not only its state). */
    private static void awaitParked(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (!(LockSupport.getBlocker(t) instanceof ParkingPoller)
                || t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(t.isAlive() && System.nanoTime() < deadline, "the waiter never parked: " + t.getState());
            Thread.sleep(1);
        }
    }

    private static void join(Thread t) throws InterruptedException {
        t.join(EVENTUALLY.toMillis());
        assertFalse(t.isAlive(), "the wait did not end within " + EVENTUALLY);
    }

    /** Writes to {@code ch} until its send buffer is full: it is not writable afterwards. */
    private static void fill(NativeSocketChannel ch) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(64 * 1024);
        while (ch.write(chunk.clear()) > 0) {
            // until the kernel takes no more
        }
    }

    /** Reads everything {@code ch} has now. */
    private static void drain(NativeSocketChannel ch) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(64 * 1024);
        while (ch.read(chunk.clear()) > 0) {
            // until nothing is left
        }
    }

    private static String bits(Object outcome) {
        return outcome instanceof Integer ? SocketEvent.opsToString((Integer) outcome) : String.valueOf(outcome);
    }

    // ------------------------------------------------------------------ interrupts

    /**
     * An interrupted thread that calls in is refused at once, and keeps its interrupt status, as
     * {@code java.io} does (issue 23, bug 1: the status was cleared and not restored). Every entry:
     * no limit, a timeout, the zero-timeout probe, a raw fd.
     */
    @Test
    void anAlreadyInterruptedCallerIsRefusedAndKeepsItsInterruptStatus() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        Call[] calls = {
            () -> p.awaitReadable(pair[0], null),
            () -> p.awaitWritable(pair[0], EVENTUALLY),
            () -> p.awaitReadable(pair[0], Duration.ZERO),
            () -> p.awaitReadable(pair[0].getFD(), EVENTUALLY),
        };
        try {
            for (int i = 0; i < calls.length; i++) {
                Call c = calls[i];
                Thread.currentThread().interrupt();
                assertThrows(InterruptedIOException.class, c::run, "call " + i);
                assertTrue(Thread.interrupted(), "call " + i + " cleared the interrupt status");
            }
        } finally {
            Thread.interrupted();
        }
    }

    // ------------------------------------------------------------------ which event ends which wait

    /**
     * A read and a write wait on one fd: the read's event ends the read wait alone, and the write
     * wait, which the one-shot event disarmed, is armed again and ends when the fd turns writable
     * (issue 23, bug 3: after an event, the other direction's waiters were not re-armed, and the
     * write wait ran to its timeout).
     */
    @Test
    void aReadEventEndsOnlyTheReadWaitAndTheWriteWaitStaysArmed() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        fill(pair[0]);
        AtomicReference<Object> read = new AtomicReference<>();
        AtomicReference<Object> wrote = new AtomicReference<>();
        Thread reader = waiter(read, () -> p.awaitReadable(pair[0], EVENTUALLY));
        Thread writer = waiter(wrote, () -> p.awaitWritable(pair[0], EVENTUALLY));
        awaitParked(reader);
        awaitParked(writer);
        write(pair[1], "x");
        join(reader);
        assertEquals(SocketEvent.READ, read.get(), bits(read.get()));
        assertNull(wrote.get(), "the read event ended the write wait: " + bits(wrote.get()));
        drain(pair[1]);
        join(writer);
        assertEquals(SocketEvent.WRITE, wrote.get(), "the write wait was not armed again: " + bits(wrote.get()));
    }

    /**
     * The other way round: a write event ends the write wait and not the read wait, which is armed
     * again and ends, with READ, when data comes (issue 23, bug 5: any event ended any wait, so the
     * read wait returned 0, "timed out", long before its timeout; and bug 3).
     */
    @Test
    void aWriteEventNeverEndsAReadWait() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        fill(pair[0]);
        AtomicReference<Object> read = new AtomicReference<>();
        AtomicReference<Object> wrote = new AtomicReference<>();
        Thread reader = waiter(read, () -> p.awaitReadable(pair[0], EVENTUALLY));
        Thread writer = waiter(wrote, () -> p.awaitWritable(pair[0], EVENTUALLY));
        awaitParked(reader);
        awaitParked(writer);
        drain(pair[1]);
        join(writer);
        assertEquals(SocketEvent.WRITE, wrote.get(), bits(wrote.get()));
        write(pair[1], "x");
        join(reader);
        assertEquals(SocketEvent.READ, read.get(), "the read wait: " + bits(read.get()));
    }

    /**
     * A reset ends a read and a write wait on one socket in one event that carries both directions
     * (and the error): each wait reports its own direction, never the other's (issue 23, bug 4: a
     * waiter was handed every ready bit, so a read wait said the socket was writable). Small socket
     * buffers, set before filling, keep TCP's buffer autotuning from making the socket writable
     * again before the reset.
     */
    @Test
    void aResetEndsAReadAndAWriteWaitEachWithItsOwnDirection() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] tcp = tcpPair();
        NativeSockets.setSendBufferSize(tcp[0], 16 * 1024);
        NativeSockets.setReceiveBufferSize(tcp[1], 16 * 1024);
        fill(tcp[0]);
        assertEquals(0, p.awaitWritable(tcp[0], Duration.ZERO), "the send buffer is full");
        AtomicReference<Object> read = new AtomicReference<>();
        AtomicReference<Object> wrote = new AtomicReference<>();
        Thread reader = waiter(read, () -> p.awaitReadable(tcp[0], EVENTUALLY));
        Thread writer = waiter(wrote, () -> p.awaitWritable(tcp[0], EVENTUALLY));
        awaitParked(reader);
        awaitParked(writer);
        // poll and select apply an interest at the poller's next wait: one that reports another
        // socket, subscribed after both waits, was built with both directions of tcp[0] in it.
        NativeSocketChannel[] other = pair();
        assertEquals(SocketEvent.WRITE, p.awaitWritable(other[0], EVENTUALLY));
        NativeSockets.abort(tcp[1]);
        join(reader);
        join(writer);
        int r = assertInstanceOf(Integer.class, read.get(), bits(read.get()));
        int w = assertInstanceOf(Integer.class, wrote.get(), bits(wrote.get()));
        assertEquals(SocketEvent.READ | SocketEvent.ERROR, r & (SocketEvent.READ | SocketEvent.WRITE | SocketEvent.ERROR),
                "the read wait: " + SocketEvent.opsToString(r));
        assertEquals(SocketEvent.WRITE | SocketEvent.ERROR, w & (SocketEvent.READ | SocketEvent.WRITE | SocketEvent.ERROR),
                "the write wait: " + SocketEvent.opsToString(w));
    }

    // ------------------------------------------------------------------ closeFd

    /**
     * {@code closeFd} ends the raw-fd waits on it with AsynchronousCloseException, and closes the
     * fd (issue 23, bug 6: it closed the fd and left the waits parked until their timeout, on epoll
     * and select alike).
     */
    @Test
    void closeFdEndsTheWaitsOnTheFd() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        closeLater(pair[1]);
        int fd = pair[0].getFD(); // used raw from here on; the channel object is never closed
        AtomicReference<Object> read = new AtomicReference<>();
        AtomicReference<Object> read2 = new AtomicReference<>();
        Thread reader = waiter(read, () -> p.awaitReadable(fd, EVENTUALLY));
        Thread reader2 = waiter(read2, () -> p.awaitReadable(fd, null));
        awaitParked(reader);
        awaitParked(reader2);
        p.closeFd(fd);
        assertFalse(fdNumbers().contains(fd) && io.polyplex.internal.Descriptors.isOpen(fd), "fd " + fd + " still open");
        join(reader);
        join(reader2);
        assertInstanceOf(AsynchronousCloseException.class, read.get(), bits(read.get()));
        assertInstanceOf(AsynchronousCloseException.class, read2.get(), bits(read2.get()));
        // closeFd of a number a channel's waits are on ends those too (the channel object stays
        // unclosed: its number is closed, and may be another socket's after this)
        NativeSocketChannel[] other = NativeSockets.socketPair();
        closeLater(other[1]);
        AtomicReference<Object> channelWait = new AtomicReference<>();
        Thread channelWaiter = waiter(channelWait, () -> p.awaitReadable(other[0], null));
        awaitParked(channelWaiter);
        p.closeFd(other[0].getFD());
        join(channelWaiter);
        assertInstanceOf(AsynchronousCloseException.class, channelWait.get(), bits(channelWait.get()));
    }

    // ------------------------------------------------------------------ an ended wait leaves nothing behind

    /**
     * A wait that timed out leaves no waiter in the service: a later event on its fd never unparks
     * the thread that waited (issue 23, bug 2: the timeout returned without cancelling; bug 8: a
     * cancelled waiter stayed in its registration. Either way every timed-out wait on a quiet fd
     * left one more waiter behind, and the next event unparked every thread that had ever timed out
     * there, wherever it was parked by then).
     */
    @Test
    void aTimedOutWaitLeavesNothingThatWakesItsThreadLater() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        assertNoLaterUnpark(() -> {
            assertEquals(0, p.awaitReadable(pair[0], Duration.ofMillis(1)));
            return "timed out";
        }, null, () -> write(pair[1], "x"), () -> p.awaitReadable(pair[0], EVENTUALLY),
                () -> p.awaitWritable(pair[0], EVENTUALLY));
    }

    /** The same for a wait ended by an interrupt (issue 23, bug 8). */
    @Test
    void anInterruptedWaitLeavesNothingThatWakesItsThreadLater() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        assertNoLaterUnpark(() -> {
            assertThrows(InterruptedIOException.class, () -> p.awaitReadable(pair[0], null));
            return "interrupted";
        }, Thread::interrupt, () -> write(pair[1], "x"), () -> p.awaitReadable(pair[0], EVENTUALLY),
                () -> p.awaitWritable(pair[0], EVENTUALLY));
    }

    /**
     * The same for a wait the backend refused (an fd number that is not open: EBADF), when a socket
     * then gets that number and is waited on as a raw fd (issue 23, bug 7: the refused waiter stayed
     * in the registration, which the next wait on the number then kept).
     */
    @Test
    void aRefusedWaitLeavesNothingThatWakesItsThreadLater() throws Exception {
        ParkingPoller p = parker();
        FdLimit.ensure(600);
        int fd = 500;
        while (fdNumbers().contains(fd)) {
            fd++;
        }
        int free = fd;
        NativeSocketChannel[][] later = new NativeSocketChannel[1][];
        assertNoLaterUnpark(() -> {
            NativeIOException e = assertThrows(NativeIOException.class, () -> p.awaitReadable(free, EVENTUALLY));
            assertEquals("EBADF", e.errnoName(), e.getMessage());
            return "refused";
        }, null, () -> {
            later[0] = pairOnFd(free);
            write(later[0][1], "x");
        }, () -> p.awaitReadable(free, EVENTUALLY), () -> p.awaitWritable(free, EVENTUALLY));
    }

    /**
     * Runs {@code endedWait} on a new platform thread, then makes an event happen on the fd that
     * wait was on ({@code fire}, then {@code syncRead}, a wait on the fd from this thread that the
     * same event ends, and {@code syncWrite}, one more wait on it, which takes the poller's lock and
     * so finds the handler that ended the read done with every waiter it ended), and proves that the service did not unpark the first thread for it: that thread
     * never parks after its wait has ended, only spins, so an unpark meanwhile would leave it a
     * permit, and its next {@code LockSupport.park} would return at once. If it parks and stays
     * parked, nobody unparked it; the test then unparks it itself.
     *
     * @param interrupt how to end the wait from here once the thread is parked in it, or null
     */
    private void assertNoLaterUnpark(Call endedWait, java.util.function.Consumer<Thread> interrupt,
                                     ThrowingRunnable fire, Call syncRead, Call syncWrite) throws Exception {
        Object marker = new Object();
        AtomicReference<Object> ended = new AtomicReference<>();
        AtomicBoolean go = new AtomicBoolean();
        AtomicBoolean unparkedHere = new AtomicBoolean();
        AtomicReference<String> wokenBy = new AtomicReference<>();
        Thread t = new Thread(() -> {
            Object outcome;
            try {
                outcome = endedWait.run();
            } catch (Throwable e) {
                outcome = e;
            }
            Thread.interrupted(); // the interrupt that ended the wait is not what is measured
            LockSupport.parkNanos(1); // takes any permit the wait's own ending left (an interrupt's)
            ended.set(outcome);
            while (!go.get()) {
                Thread.onSpinWait(); // never parked: an unpark now leaves a permit
            }
            LockSupport.park(marker);
            wokenBy.set(unparkedHere.get() ? "the test" : "someone else (the service)");
        }, "ended-waiter");
        t.setDaemon(true);
        t.start();
        if (interrupt != null) {
            awaitParked(t);
            interrupt.accept(t);
        }
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (ended.get() == null) {
            assertTrue(t.isAlive() && System.nanoTime() < deadline, "the wait did not end");
            Thread.sleep(1);
        }
        assertInstanceOf(String.class, ended.get(), "the wait that was to end: " + ended.get());
        fire.run();
        Object ops = syncRead.run(); // the event has reached the service, which handled it
        assertEquals(SocketEvent.READ, ops, "the wait that the event ends: " + bits(ops));
        ops = syncWrite.run();
        assertEquals(SocketEvent.WRITE, ops, "the fd is writable: " + bits(ops));
        go.set(true);
        int parkedSeen = 0;
        while (t.isAlive() && parkedSeen < 2) {
            assertTrue(System.nanoTime() < deadline, "the ended waiter neither parked nor ended");
            boolean parked = LockSupport.getBlocker(t) == marker && t.getState() == Thread.State.WAITING;
            parkedSeen = parked ? parkedSeen + 1 : 0; // seen parked twice, 10 ms apart: it had no permit
            Thread.sleep(10);
        }
        if (t.isAlive()) {
            unparkedHere.set(true);
            LockSupport.unpark(t);
        }
        join(t);
        assertEquals("the test", wokenBy.get(), "the thread of a wait that had ended (" + ended.get()
                + ") was unparked by a later event on its fd: a waiter was left behind");
    }

    // ------------------------------------------------------------------ how the service is built

    /** The platform threads named as this service's pollers are, now. */
    private static long platformPollerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("polyplex-parking-poller-")).count();
    }

    /**
     * Virtual pollers where the JDK (21+) and the queue (one that is itself an fd: epoll) allow and
     * they were asked for, platform threads otherwise: each kind seen as the threads it really
     * starts, not only as what {@code virtualPollers()} says (issue 24: a service that quietly
     * fell back to platform pollers turned the virtual-poller tests into skips).
     */
    @Test
    void virtualPollersRunWhereverTheJdkAndTheQueueAllowThem() throws Exception {
        boolean possible = io.polyplex.internal.VirtualThreads.available()
                && queue instanceof io.polyplex.internal.PollerEventQueue
                && ((io.polyplex.internal.PollerEventQueue<?>) queue).pollableFd() >= 0;
        ParkingPoller.Queues queues = new ParkingPoller.Queues() {
            @Override
            public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
                return ParkingRulesContract.this.open(fdOf);
            }
        };
        long before = platformPollerThreads();
        try (ParkingPoller p = ParkingPoller.open(queues, 2)) {
            assertEquals(possible, p.virtualPollers(), "virtual pollers where they can run");
            assertEquals(possible ? 0 : 2, platformPollerThreads() - before, "platform poller threads started");
            NativeSocketChannel[] pair = pair();
            write(pair[1], "x");
            assertEquals(SocketEvent.READ, p.awaitReadable(pair[0], EVENTUALLY));
        }
        try (ParkingPoller p = ParkingPoller.open(queues, 2, false)) {
            assertFalse(p.virtualPollers(), "platform pollers were asked for");
            assertEquals(2, platformPollerThreads() - before, "platform poller threads started");
        }
        assertEquals(before, platformPollerThreads(), "close() returned before its poller threads had ended");
    }

    /**
     * A virtual poller with nothing to do parks in the master: the carriers it runs on burn no CPU
     * while its registrations are quiet (one that looked again at once whenever it found nothing
     * would spin a carrier). Only where virtual pollers run.
     */
    @Test
    void anIdleVirtualPollerBurnsNoCpu() throws Exception {
        boolean possible = io.polyplex.internal.VirtualThreads.available()
                && queue instanceof io.polyplex.internal.PollerEventQueue
                && ((io.polyplex.internal.PollerEventQueue<?>) queue).pollableFd() >= 0;
        org.junit.jupiter.api.Assumptions.assumeTrue(possible, "virtual pollers run on JDK 21+ over a queue that is an fd (epoll)");
        ParkingPoller p = closeLater(ParkingPoller.open(new ParkingPoller.Queues() {
            @Override
            public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
                return ParkingRulesContract.this.open(fdOf);
            }
        }, 1, true));
        NativeSocketChannel[] pair = pair();
        AtomicReference<Object> read = new AtomicReference<>();
        Thread t = waiter(read, () -> p.awaitReadable(pair[0], EVENTUALLY));
        awaitParked(t);
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        java.util.List<Thread> carriers = Thread.getAllStackTraces().keySet().stream()
                .filter(c -> c.getName().startsWith("ForkJoinPool-") && c.getName().contains("worker")).toList();
        long cpu = 0;
        for (Thread c : carriers) {
            cpu -= Math.max(0, mx.getThreadCpuTime(c.getId()));
        }
        long start = System.nanoTime();
        Thread.sleep(500);
        for (Thread c : carriers) {
            cpu += Math.max(0, mx.getThreadCpuTime(c.getId()));
        }
        long wall = System.nanoTime() - start;
        assertNoSpin(cpu, wall, "the carriers of an idle virtual poller (" + carriers.size() + ")");
        write(pair[1], "x");
        join(t);
        assertEquals(SocketEvent.READ, read.get(), bits(read.get()));
    }

    /**
     * The factory methods that choose the backend: {@code open()} on the best backend with {@link
     * ParkingPoller#defaultPollers()} pollers, and {@code open(name, n, false)} on this suite's
     * backend where it runs here (not the kqueue emulated on Linux).
     */
    @Test
    void theFactoriesOpenTheBackendAndThePollersAskedFor() throws Exception {
        int d = ParkingPoller.defaultPollers();
        assertEquals(Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors() / 4)), d,
                "one poller per four processors, from 1 to 8");
        // The default backend is the best one on the class path that runs here: none in a module
        // that has only kqueue's, emulated on Linux.
        org.junit.jupiter.api.Assumptions.assumeTrue(io.polyplex.EventQueues.backends().stream()
                .anyMatch(io.polyplex.BackendInfo::supported), "no backend on this class path runs here");
        try (ParkingPoller p = ParkingPoller.open()) {
            assertEquals(d, p.pollers());
            assertEquals(io.polyplex.EventQueues.open(c -> 0).backend(), p.backend()); // the best one
        }
        boolean bestIsAnFd;
        try (EventQueue<Object> best = io.polyplex.EventQueues.open(c -> 0)) {
            bestIsAnFd = best instanceof io.polyplex.internal.PollerEventQueue
                    && ((io.polyplex.internal.PollerEventQueue<?>) best).pollableFd() >= 0;
        }
        try (ParkingPoller p = ParkingPoller.open((String) null, 3)) {
            assertEquals(3, p.pollers());
            assertFalse(p.backend().isEmpty());
            assertEquals(bestIsAnFd && io.polyplex.internal.VirtualThreads.available(), p.virtualPollers(),
                    "virtual pollers where they can run");
        }
        boolean runsHere = io.polyplex.EventQueues.backends().stream()
                .anyMatch(b -> b.name().equals(queue.backend()) && b.supported());
        if (runsHere) {
            try (ParkingPoller p = ParkingPoller.open(queue.backend(), 2, false)) {
                assertFalse(p.virtualPollers(), "platform pollers were asked for");
                assertEquals(queue.backend(), p.backend());
                assertEquals(2, p.pollers());
                NativeSocketChannel[] pair = pair();
                write(pair[1], "x");
                assertEquals(SocketEvent.READ, p.awaitReadable(pair[0], EVENTUALLY));
            }
        }
    }

    /** Queues of the backend under test that fail on demand, or lack ONE_SHOT; each real one recorded. */
    private final class FlakyQueues implements ParkingPoller.Queues {
        final java.util.List<io.polyplex.internal.PollerEventQueue<?>> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
        volatile IOException failPoll;
        volatile IOException failSubscribe;
        volatile boolean noOneShot;
        volatile int failOpenAt = -1;
        volatile boolean plain;

        @Override
        @SuppressWarnings("unchecked")
        public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            if (opened.size() == failOpenAt) {
                throw new IOException("injected: no queue for poller " + failOpenAt);
            }
            EventQueue<S> real = ParkingRulesContract.this.open(fdOf);
            opened.add((io.polyplex.internal.PollerEventQueue<?>) real);
            if (plain) {
                return real; // itself: a queue that is an fd gets virtual pollers, and their master
            }
            return (EventQueue<S>) java.lang.reflect.Proxy.newProxyInstance(EventQueue.class.getClassLoader(),
                    new Class<?>[] {EventQueue.class}, (proxy, m, args) -> {
                        if (m.getName().equals("poll") && args != null && args.length == 2 && failPoll != null) {
                            throw failPoll;
                        }
                        if (m.getName().equals("subscribe") && failSubscribe != null) {
                            throw failSubscribe;
                        }
                        if (m.getName().equals("capabilities") && noOneShot) {
                            java.util.Set<io.polyplex.Capability> c = java.util.EnumSet.noneOf(io.polyplex.Capability.class);
                            c.addAll(real.capabilities());
                            c.remove(io.polyplex.Capability.ONE_SHOT);
                            return c;
                        }
                        try {
                            return m.invoke(real, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }
    }

    /**
     * A service that cannot start is not half started: when its second queue cannot be opened, or
     * a queue lacks the one-shot mode a poller needs, the constructor throws and every queue it
     * had opened is closed. (The second case threw ClosedEventQueueException, not the documented
     * UnsupportedOperationException: the refusal asked the queue it had just closed for its name.)
     */
    @Test
    void aServiceThatCannotStartClosesWhatItOpened() throws Exception {
        FlakyQueues failing = new FlakyQueues();
        failing.failOpenAt = 1;
        IOException e = assertThrows(IOException.class, () -> ParkingPoller.open(failing, 2, false));
        assertTrue(e.getMessage().contains("injected"), e.getMessage());
        assertEquals(1, failing.opened.size());
        assertFalse(failing.opened.get(0).isOpen(), "the first poller's queue was left open");

        // With virtual pollers (where they run) the first queue also starts the master, whose own
        // queue is the second opened: the third open fails, and the master is closed too.
        FlakyQueues virtual = new FlakyQueues();
        virtual.plain = true;
        boolean possible = io.polyplex.internal.VirtualThreads.available()
                && ((io.polyplex.internal.PollerEventQueue<?>) queue).pollableFd() >= 0;
        virtual.failOpenAt = possible ? 2 : 1;
        assertThrows(IOException.class, () -> ParkingPoller.open(virtual, 2, true));
        assertEquals(possible ? 2 : 1, virtual.opened.size());
        for (io.polyplex.internal.PollerEventQueue<?> q : virtual.opened) {
            assertFalse(q.isOpen(), "a queue of a service that failed to start (the master's?) was left open");
        }

        if (possible) {
            // The master's own queue cannot be opened: the first poller's queue, opened before it,
            // is closed too (found by the adversarial suite under EMFILE: it was left open).
            FlakyQueues masterFails = new FlakyQueues();
            masterFails.plain = true;
            masterFails.failOpenAt = 1;
            assertThrows(IOException.class, () -> ParkingPoller.open(masterFails, 2, true));
            assertEquals(1, masterFails.opened.size());
            assertFalse(masterFails.opened.get(0).isOpen(), "the queue opened before the master failed was left open");
        }

        FlakyQueues noOneShot = new FlakyQueues();
        noOneShot.noOneShot = true;
        assertThrows(UnsupportedOperationException.class, () -> ParkingPoller.open(noOneShot, 1, false));
        assertFalse(noOneShot.opened.get(0).isOpen(), "a queue without one-shot was left open");
    }

    /**
     * A poller whose queue fails (its wait throws) ends every wait it holds with an IOException
     * that says so and carries the queue's error, closes its queue, and leaves later waits on it
     * failing at once, never hanging.
     */
    @Test
    void aPollerWhoseQueueFailsEndsItsWaitsWithThatFailure() throws Exception {
        FlakyQueues flaky = new FlakyQueues();
        ParkingPoller p = closeLater(ParkingPoller.open(flaky, 1, false));
        NativeSocketChannel[] a = pair();
        NativeSocketChannel[] b = pair();
        AtomicReference<Object> first = new AtomicReference<>();
        AtomicReference<Object> second = new AtomicReference<>();
        Thread t1 = waiter(first, () -> p.awaitReadable(a[0], EVENTUALLY));
        Thread t2 = waiter(second, () -> p.awaitReadable(b[0], null));
        awaitParked(t1);
        awaitParked(t2);
        IOException injected = new IOException("injected: the queue's wait failed");
        flaky.failPoll = injected;
        write(a[1], "x"); // the poller's wait returns with it; its next wait fails
        join(t1);
        assertEquals(SocketEvent.READ, first.get(), bits(first.get()));
        join(t2);
        IOException e = assertInstanceOf(IOException.class, second.get(), bits(second.get()));
        assertEquals("the poller for fd " + b[0].getFD() + " failed", e.getMessage());
        assertTrue(e.getCause() == injected, "the queue's own error, as its cause: " + e.getCause());
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (flaky.opened.get(0).isOpen()) {
            assertTrue(System.nanoTime() < deadline, "the failed poller's queue was never closed");
            Thread.sleep(1);
        }
        AtomicReference<Object> later = new AtomicReference<>();
        join(waiter(later, () -> p.awaitReadable(a[0], null)));
        assertInstanceOf(Exception.class, later.get(), "a wait on a failed poller: " + later.get());
    }

    /**
     * Re-arming the other direction after an event failing (the queue refuses the subscribe)
     * ends the waits that were to be re-armed with an IOException carrying the refusal; the wait
     * the event ended has its bits.
     */
    @Test
    void aReArmThatFailsEndsTheRemainingWaitsWithThatFailure() throws Exception {
        FlakyQueues flaky = new FlakyQueues();
        ParkingPoller p = closeLater(ParkingPoller.open(flaky, 1, false));
        NativeSocketChannel[] pair = pair();
        fill(pair[0]);
        AtomicReference<Object> read = new AtomicReference<>();
        AtomicReference<Object> wrote = new AtomicReference<>();
        Thread reader = waiter(read, () -> p.awaitReadable(pair[0], EVENTUALLY));
        Thread writer = waiter(wrote, () -> p.awaitWritable(pair[0], EVENTUALLY));
        awaitParked(reader);
        awaitParked(writer);
        IOException injected = new IOException("injected: subscribe refused");
        flaky.failSubscribe = injected;
        write(pair[1], "x");
        join(reader);
        join(writer);
        assertEquals(SocketEvent.READ, read.get(), bits(read.get()));
        IOException e = assertInstanceOf(IOException.class, wrote.get(), bits(wrote.get()));
        assertTrue(e.getCause() == injected, "the refusal, as its cause: " + e.getCause());
    }

    /**
     * A raw fd closed behind the service's back after a wait, and its number given to a new
     * socket: a wait in the other direction finds the kept registration unknown to the kernel
     * (epoll: ENOENT), starts afresh, and works; so do later waits. (The service cannot tell the
     * new socket from the old by a raw number: close raw fds with {@code closeFd}; this is what
     * it does when that was not done.)
     */
    @Test
    void aRawFdReusedBehindTheServicesBackStartsAfreshOnTheNextWait() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] old = NativeSockets.socketPair();
        closeLater(old[1]);
        int fd = old[0].getFD();
        assertEquals(0, p.awaitReadable(fd, Duration.ofMillis(1)), "quiet: the registration stays, armed");
        old[0].close();
        NativeSocketChannel[] next = pairOnFd(fd);
        assertEquals(SocketEvent.WRITE, p.awaitWritable(fd, EVENTUALLY));
        write(next[1], "x");
        assertEquals(SocketEvent.READ, p.awaitReadable(fd, EVENTUALLY));
        assertEquals("x", readNow(next[0]));
    }

    /** Closing the service from an interrupted thread keeps that thread's interrupt status. */
    @Test
    void closingTheServiceKeepsTheCallersInterruptStatus() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        write(pair[1], "x");
        assertEquals(SocketEvent.READ, p.awaitReadable(pair[0], EVENTUALLY)); // the poller is running
        Thread.currentThread().interrupt();
        try {
            p.close();
            assertTrue(Thread.interrupted(), "close() cleared the caller's interrupt status");
        } finally {
            Thread.interrupted();
        }
    }

    /**
     * A half-closed peer (it shut down its writing) ends a read wait but not a write wait on a
     * socket whose send buffer is full: PEER_CLOSED is news for readers only; the zero-timeout
     * probe says the same.
     */
    @Test
    void aPeersHalfCloseEndsReadWaitsNotWriteWaits() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        fill(pair[0]);
        NativeSockets.shutdownOutput(pair[1]);
        assertEquals(0, p.awaitWritable(pair[0], Duration.ZERO), "the probe: not writable");
        assertEquals(0, p.awaitWritable(pair[0], Duration.ofMillis(100)), "a write wait ended by the peer's half-close");
        int r = p.awaitReadable(pair[0], EVENTUALLY);
        assertEquals(SocketEvent.READ, r & (SocketEvent.READ | SocketEvent.WRITE), SocketEvent.opsToString(r));
    }

    // ------------------------------------------------------------------ close while a call is inside

    /**
     * A socket's fd as a channel whose {@code isOpen()}, asked by one chosen thread, can be held at
     * a gate, or answer false: a way to stop a {@code BlockingSockets} call at a known point of its
     * close protocol ({@code enter} asks {@code isOpen()} before it counts its use of the fd, and
     * again after), which real scheduling would reach only by chance.
     */
    private static final class GatedChannel implements java.nio.channels.Channel, jnr.enxio.channels.NativeSelectableChannel {
        final int fd;
        volatile boolean open = true;
        volatile Thread gated;
        /** The call (1-based, by the gated thread, from when it was set) to hold, or to answer false. */
        volatile int holdAt = -1;
        volatile int falseAt = -1;
        /** Whether the held call answers what the channel was before the hold (a check made, then delayed). */
        volatile boolean answerFromBeforeHold;
        final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.Semaphore arrived = new java.util.concurrent.Semaphore(0);
        final java.util.concurrent.Semaphore pass = new java.util.concurrent.Semaphore(0);

        GatedChannel(int fd) {
            this.fd = fd;
        }

        void gate(Thread t, int hold, int answerFalse) {
            calls.set(0);
            holdAt = hold;
            falseAt = answerFalse;
            gated = t;
        }

        @Override
        public int getFD() {
            return fd;
        }

        @Override
        public boolean isOpen() {
            if (Thread.currentThread() == gated) {
                int n = calls.incrementAndGet();
                if (n == holdAt) {
                    boolean before = open;
                    arrived.release();
                    pass.acquireUninterruptibly();
                    if (answerFromBeforeHold && n != falseAt) {
                        return before;
                    }
                }
                if (n == falseAt) {
                    return false;
                }
            }
            return open;
        }

        @Override
        public void close() {
            if (open) {
                open = false;
                jnr.posix.POSIXFactory.getNativePOSIX().close(fd);
            }
        }
    }

    private static void acquire(java.util.concurrent.Semaphore s, String what) throws InterruptedException {
        assertTrue(s.tryAcquire(EVENTUALLY.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS), what);
    }

    /**
     * {@code close(channel)} and {@code closeFd} wait for a call that is inside a system call on the
     * fd (counted in, between its checks) before they close the number: the close is seen waiting
     * (in {@code awaitIdle}) while the call is held there, and ends once the call has left.
     */
    @Test
    void aCloseWaitsForTheCallInsideASystemCallOnTheFd() throws Exception {
        ParkingPoller p = parker();
        io.polyplex.net.BlockingSockets sockets = new io.polyplex.net.BlockingSockets(p);
        for (boolean raw : new boolean[] {false, true}) {
            NativeSocketChannel[] pair = NativeSockets.socketPair();
            closeLater(pair[1]);
            GatedChannel ch = new GatedChannel(pair[0].getFD()); // pair[0] itself is never closed: ch or closeFd does
            write(pair[1], "x");
            AtomicReference<Object> read = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    read.set(sockets.read(ch, ByteBuffer.allocate(8), EVENTUALLY));
                } catch (Throwable e) {
                    read.set(e);
                }
            }, "gated-reader");
            reader.setDaemon(true);
            ch.gate(reader, 2, -1); // after the use is counted in; set before the reader starts
            reader.start();
            acquire(ch.arrived, "the read never reached its second check");
            AtomicReference<Object> closed = new AtomicReference<>();
            Thread closer = waiter(closed, () -> {
                if (raw) {
                    p.closeFd(ch.fd);
                } else {
                    p.close(ch);
                }
                return "closed";
            });
            long deadline = System.nanoTime() + EVENTUALLY.toNanos();
            while (!java.util.Arrays.stream(closer.getStackTrace()).anyMatch(f -> f.getMethodName().equals("awaitIdle"))
                    || closer.getState() != Thread.State.WAITING) {
                assertTrue(closer.isAlive(), (raw ? "closeFd" : "close") + " did not wait for the call inside: " + closed.get());
                assertTrue(System.nanoTime() < deadline, "the close never waited");
                Thread.sleep(1);
            }
            ch.pass.release();
            join(reader);
            join(closer);
            assertEquals(1, read.get(), "the call inside finished its read: " + read.get());
            assertEquals("closed", closed.get());
            assertFalse(io.polyplex.internal.Descriptors.isOpen(ch.fd) && fdNumbers().contains(ch.fd), "fd still open");
        }
    }

    /**
     * A channel closed between a call's first check and its count (its second {@code isOpen()}
     * says false) refuses the call, and counts the use out again: a later close of the number
     * does not wait for a use that was never made.
     */
    @Test
    void aCallRefusedBetweenItsChecksLeavesNoUseBehind() throws Exception {
        ParkingPoller p = parker();
        io.polyplex.net.BlockingSockets sockets = new io.polyplex.net.BlockingSockets(p);
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        closeLater(pair[1]);
        GatedChannel ch = new GatedChannel(pair[0].getFD());
        ch.gate(Thread.currentThread(), -1, 2);
        assertThrows(java.nio.channels.ClosedChannelException.class, () -> sockets.read(ch, ByteBuffer.allocate(8), EVENTUALLY));
        ch.gated = null;
        AtomicReference<Object> closed = new AtomicReference<>();
        join(waiter(closed, () -> {
            p.closeFd(ch.fd);
            return "closed";
        }));
        assertEquals("closed", closed.get());
    }

    /**
     * A read whose wait said the socket was in error, but whose recv then finds a clean end of
     * stream (another call read and cleared the error in between: here, at the gate, a recv of
     * our own), is an error, not an end of stream.
     */
    @Test
    void aReadWokenByAnErrorThatAnotherCallConsumedIsStillAnError() throws Exception {
        ParkingPoller p = parker();
        io.polyplex.net.BlockingSockets sockets = new io.polyplex.net.BlockingSockets(p);
        NativeSocketChannel[] tcp = tcpPair();
        GatedChannel ch = new GatedChannel(tcp[0].getFD());
        AtomicReference<Object> read = new AtomicReference<>();
        Thread reader = waiter(read, () -> sockets.read(ch, ByteBuffer.allocate(8), EVENTUALLY));
        awaitParked(reader);
        ch.gate(reader, 1, -1); // its next check: after the wait, before the recv
        NativeSockets.abort(tcp[1]);
        acquire(ch.arrived, "the read never woke");
        try {
            assertEquals(-1, NativeSockets.recv(ch.fd, ByteBuffer.allocate(8)), "the error, or its end of stream");
        } catch (IOException expected) {
            // ECONNRESET: read, and cleared, by this call
        }
        ch.pass.release();
        join(reader);
        IOException e = assertInstanceOf(IOException.class, read.get(), bits(read.get()));
        assertTrue(e.getMessage().contains("another call read"), e.getMessage());
    }

    /**
     * A wait refused on the fd number just past the poller's first table (64: EBADF, not open) is
     * refused as such, not with an index error from the clean-up of the refusal.
     */
    @Test
    void aRefusalOnTheNumberPastThePollersTableIsTheKernelsRefusal() throws Exception {
        ParkingPoller p = parker();
        org.junit.jupiter.api.Assumptions.assumeFalse(fdNumbers().contains(64), "fd 64 is open in this JVM");
        NativeIOException e = assertThrows(NativeIOException.class, () -> p.awaitReadable(64, EVENTUALLY));
        assertEquals("EBADF", e.errnoName(), e.getMessage());
    }

    /**
     * After {@code closeFd}, the number's next socket is waited on afresh: the closed fd's
     * registration (armed by a wait that timed out) is gone from the poller's table, so the new
     * socket's wait subscribes it and sees its data.
     */
    @Test
    void afterCloseFdTheNumbersNextSocketIsWaitedOnAfresh() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] old = NativeSockets.socketPair();
        closeLater(old[1]);
        int fd = old[0].getFD(); // raw from here on
        assertEquals(0, p.awaitReadable(fd, Duration.ofMillis(1)), "quiet: the registration stays, armed");
        p.closeFd(fd);
        NativeSocketChannel[] next = pairOnFd(fd);
        write(next[1], "x");
        assertEquals(SocketEvent.READ, p.awaitReadable(fd, EVENTUALLY), "the next socket on the number");
    }

    /**
     * A wait refused in the middle of its enqueue (its channel found closed there, after the
     * check on the way in) leaves the registration it found, another channel's with a waiter
     * parked on it, alone: that waiter goes on and gets its data.
     */
    @Test
    void aWaitRefusedAtEnqueueLeavesAnotherChannelsWaitersAlone() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        AtomicReference<Object> other = new AtomicReference<>();
        Thread otherWaiter = waiter(other, () -> p.awaitReadable(pair[0], EVENTUALLY));
        awaitParked(otherWaiter);
        GatedChannel stale = new GatedChannel(pair[0].getFD()); // another channel object on the number
        stale.gate(Thread.currentThread(), -1, 2); // open on the way in, closed at the enqueue
        assertThrows(AsynchronousCloseException.class, () -> p.awaitReadable(stale, EVENTUALLY));
        stale.gated = null;
        write(pair[1], "x");
        join(otherWaiter);
        assertEquals(SocketEvent.READ, other.get(), "the other channel's wait: " + bits(other.get()));
    }

    // ------------------------------------------------------------------ found by the adversarial suite (issue 19)

    /**
     * Waits made on a channel and on its raw fd number are waits on one socket: another thread's
     * wait of the other kind (timed out, a zero-timeout probe, an interrupted one) never ends the
     * parked one, and data ends it with READ. Found by the suite written from the Javadoc alone:
     * a raw-fd wait treated the channel's registration as a closed channel's, and ended its waits
     * with AsynchronousCloseException (and the other way round).
     */
    @Test
    void aChannelsWaitsAndItsRawFdsWaitsLeaveEachOtherAlone() throws Exception {
        ParkingPoller p = parker();
        for (boolean rawParks : new boolean[] {true, false}) {
            NativeSocketChannel[] pair = pair();
            int fd = pair[0].getFD();
            AtomicReference<Object> parked = new AtomicReference<>();
            Thread parker = waiter(parked, () -> rawParks ? p.awaitReadable(fd, null) : p.awaitReadable(pair[0], null));
            awaitParked(parker);
            String who = rawParks ? "a raw-fd wait, beside channel waits" : "a channel's wait, beside raw-fd waits";
            // the other kind: a timed-out wait, a probe, and an interrupted wait
            assertEquals(0, rawParks ? p.awaitReadable(pair[0], Duration.ofMillis(20)) : p.awaitReadable(fd, Duration.ofMillis(20)));
            assertEquals(0, rawParks ? p.awaitReadable(pair[0], Duration.ZERO) : p.awaitReadable(fd, Duration.ZERO));
            AtomicReference<Object> interrupted = new AtomicReference<>();
            Thread other = waiter(interrupted, () -> rawParks ? p.awaitReadable(pair[0], null) : p.awaitReadable(fd, null));
            awaitParked(other);
            other.interrupt();
            join(other);
            assertInstanceOf(java.io.InterruptedIOException.class, interrupted.get(), bits(interrupted.get()));
            assertTrue(parker.isAlive(), who + " ended early: " + bits(parked.get()));
            write(pair[1], "x");
            join(parker);
            assertEquals(SocketEvent.READ, parked.get(), who + ": " + bits(parked.get()));
        }
    }

    /**
     * {@code close(channel)} ends the waits made on its raw fd number too, read and write, and
     * {@code closeFd} ends a channel's (found by the adversarial suite: the raw-fd waits stayed
     * parked, on a number that was closed and could be reused).
     */
    @Test
    void closingAChannelEndsTheWaitsOnItsRawFdNumber() throws Exception {
        ParkingPoller p = parker();
        for (boolean channelWaitsToo : new boolean[] {false, true}) {
            NativeSocketChannel[] pair = pair();
            int fd = pair[0].getFD();
            fill(pair[0]);
            AtomicReference<Object> read = new AtomicReference<>();
            AtomicReference<Object> wrote = new AtomicReference<>();
            AtomicReference<Object> channelRead = new AtomicReference<>();
            Thread reader = waiter(read, () -> p.awaitReadable(fd, null));
            Thread writer = waiter(wrote, () -> p.awaitWritable(fd, null));
            awaitParked(reader);
            awaitParked(writer);
            Thread channelReader = null;
            if (channelWaitsToo) {
                channelReader = waiter(channelRead, () -> p.awaitReadable(pair[0], null));
                awaitParked(channelReader);
            }
            p.close(pair[0]);
            join(reader);
            join(writer);
            assertInstanceOf(AsynchronousCloseException.class, read.get(), "raw read wait: " + bits(read.get()));
            assertInstanceOf(AsynchronousCloseException.class, wrote.get(), "raw write wait: " + bits(wrote.get()));
            if (channelReader != null) {
                join(channelReader);
                assertInstanceOf(AsynchronousCloseException.class, channelRead.get(), "channel wait: " + bits(channelRead.get()));
            }
        }
    }

    /**
     * A zero-timeout probe is counted in as a system call on the fd is: a {@code close(channel)}
     * that begins while the probe is between its check of the channel and its poll(2) makes the
     * probe fail with AsynchronousCloseException; it never polls the socket that took the number
     * (found by the adversarial suite: the probe reported the next socket's READ, or threw
     * EBADF as a NativeIOException). Here the probe is held after its first check, the channel is
     * closed, a new socket with data is put on the number, and the probe goes on.
     */
    @Test
    void aProbeRacingACloseNeverProbesTheNumbersNextSocket() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        closeLater(pair[1]);
        GatedChannel ch = new GatedChannel(pair[0].getFD()); // pair[0] itself is never closed: ch's close is
        AtomicReference<Object> probed = new AtomicReference<>();
        Thread prober = new Thread(() -> {
            try {
                probed.set(p.awaitReadable(ch, Duration.ZERO));
            } catch (Throwable e) {
                probed.set(e);
            }
        }, "gated-prober");
        prober.setDaemon(true);
        ch.answerFromBeforeHold = true;
        ch.gate(prober, 1, -1); // just after the wait's first check of the channel: open
        prober.start();
        acquire(ch.arrived, "the probe never reached its first check");
        p.close(ch);
        NativeSocketChannel[] next = pairOnFd(ch.fd);
        write(next[1], "NEXT");
        ch.pass.release();
        join(prober);
        assertInstanceOf(AsynchronousCloseException.class, probed.get(), "the probe of a channel closed meanwhile: " + bits(probed.get()));
        ByteBuffer kept = ByteBuffer.allocate(8);
        assertEquals(4, next[0].read(kept), "the next socket's data is untouched");
    }

    /**
     * A negative fd number is a programming error, refused with IllegalArgumentException by every
     * entry (the documented decision; the adversarial suite expected the kernel's EBADF); a number
     * that is not open is the kernel's refusal, a NativeIOException naming the fd.
     */
    @Test
    void aNegativeFdIsRefusedAsAnArgumentAndANumberThatIsNotOpenAsTheKernelDoes() throws Exception {
        ParkingPoller p = parker();
        io.polyplex.net.BlockingSockets sockets = new io.polyplex.net.BlockingSockets(p);
        for (Duration timeout : new Duration[] {null, Duration.ZERO, Duration.ofMillis(5)}) {
            assertThrows(IllegalArgumentException.class, () -> p.awaitReadable(-1, timeout));
            assertThrows(IllegalArgumentException.class, () -> p.awaitWritable(-1, timeout));
            assertThrows(IllegalArgumentException.class, () -> sockets.read(-1, ByteBuffer.allocate(8), timeout));
            assertThrows(IllegalArgumentException.class, () -> sockets.write(-1, ByteBuffer.allocate(8), timeout));
        }
        assertThrows(IllegalArgumentException.class, () -> p.closeFd(-1));
        java.util.Set<Integer> used = fdNumbers();
        int free = 3;
        while (used.contains(free)) {
            free++;
        }
        int notOpen = free;
        for (int huge : new int[] {1 << 24, Integer.MAX_VALUE}) { // no table grows for these first
            for (Duration timeout : new Duration[] {null, Duration.ZERO, Duration.ofMillis(5)}) {
                io.polyplex.NativeIOException e = assertThrows(io.polyplex.NativeIOException.class, () -> p.awaitReadable(huge, timeout));
                assertTrue(e.getMessage().contains("fd=" + huge), e.getMessage());
                e = assertThrows(io.polyplex.NativeIOException.class, () -> sockets.read(huge, ByteBuffer.allocate(8), timeout));
                assertTrue(e.getMessage().contains("fd=" + huge), e.getMessage());
            }
        }
        for (Duration timeout : new Duration[] {null, Duration.ZERO}) {
            io.polyplex.NativeIOException e = assertThrows(io.polyplex.NativeIOException.class, () -> p.awaitReadable(notOpen, timeout));
            assertTrue(e.getMessage().contains("fd=" + notOpen) && e.getMessage().contains("EBADF"), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ what PIT's last run left alive

    /**
     * A zero-timeout probe counts its use of the fd out again: a close through the service after
     * probes, on a channel and on a raw fd, returns at once instead of waiting for a use that never
     * ends (its {@code awaitIdle} would wait for ever).
     */
    @Test
    void aCloseAfterProbesDoesNotWaitForThem() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        NativeSocketChannel[] raw = NativeSockets.socketPair();
        closeLater(raw[1]);
        for (int i = 0; i < 3; i++) {
            assertEquals(0, p.awaitReadable(pair[0], Duration.ZERO));
            assertEquals(0, p.awaitReadable(raw[0].getFD(), Duration.ZERO));
        }
        AtomicReference<Object> closed = new AtomicReference<>();
        join(waiter(closed, () -> {
            p.close(pair[0]);
            p.closeFd(raw[0].getFD());
            return "closed";
        }));
        assertEquals("closed", closed.get());
    }

    /**
     * Platform pollers are daemon threads: a program that forgets to close its service can still
     * exit, as with the JDK's own poller threads.
     */
    @Test
    void platformPollerThreadsAreDaemons() throws Exception {
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pair();
        assertEquals(0, p.awaitReadable(pair[0], Duration.ofMillis(1))); // the poller is running
        java.util.List<Thread> pollers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("polyplex-parking-poller")).collect(java.util.stream.Collectors.toList());
        assertFalse(pollers.isEmpty(), "no poller thread found");
        for (Thread t : pollers) {
            assertTrue(t.isDaemon(), t.getName() + " is not a daemon");
        }
    }

    /**
     * fd 0 is a number like any other: a probe and a read on it are passed to the kernel (whatever
     * fd 0 is here: a pipe, a terminal, /dev/null), never refused as a negative number.
     */
    @Test
    void fdZeroIsNotANegativeNumber() throws Exception {
        ParkingPoller p = parker();
        io.polyplex.net.BlockingSockets sockets = new io.polyplex.net.BlockingSockets(p);
        try {
            p.awaitReadable(0, Duration.ZERO);
        } catch (io.polyplex.NativeIOException e) {
            // fd 0 closed in this process: the kernel said so, which is right too
        }
        io.polyplex.NativeIOException e = assertThrows(io.polyplex.NativeIOException.class,
                () -> sockets.read(0, ByteBuffer.allocate(1), Duration.ZERO), "recv on fd 0, which is no socket here");
        assertTrue(e.getMessage().contains("fd=0"), e.getMessage());
    }

    /**
     * A close of the number just past a poller's first table (64 entries, an fd it has never
     * waited on) is an ordinary close, not an index error.
     */
    @Test
    void aCloseOfTheNumberJustPastThePollersTable() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(fdNumbers().contains(64), "fd 64 is taken in this JVM");
        ParkingPoller p = parker();
        NativeSocketChannel[] pair = pairOnFd(64);
        p.close(pair[0]);
        int r = p.awaitReadable(pair[1], EVENTUALLY);
        assertTrue((r & SocketEvent.PEER_CLOSED) != 0, "the peer sees the close: " + bits(r));
        assertEquals(-1, pair[1].read(ByteBuffer.allocate(1)));
    }
}
