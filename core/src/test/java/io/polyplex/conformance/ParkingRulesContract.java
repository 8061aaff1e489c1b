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
}
