package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.EventQueue;
import io.polyplex.NativeIOException;
import io.polyplex.ParkingPoller;
import io.polyplex.SocketEvent;
import io.polyplex.internal.VirtualThreads;
import io.polyplex.net.BlockingSockets;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToIntFunction;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link BlockingSockets} over a {@link ParkingPoller} on the backend under test, with each kind of
 * poller the backend allows (platform; virtual on JDK 21+ where the queue is an fd) and each kind of
 * calling thread the JDK has (platform; virtual on JDK 21+): a close through the service never lets
 * a read or write reach the socket that next takes the fd number, heap and direct buffers change
 * only the bytes moved, a reset is an error and not an end of stream, a zero timeout is a probe of
 * the state now, and a timeout too large to add to a clock means no limit.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BlockingSocketsContract extends ContractBase {

    /** Rounds of the close race per kind of poller and thread: thousands per CI run in all. */
    private static final int RACE_ROUNDS = 300;

    /** One way to run the service and its callers. */
    protected record Kind(boolean virtualPollers, boolean virtualCallers) {
        @Override
        public String toString() {
            return (virtualPollers ? "virtual" : "platform") + " pollers, "
                    + (virtualCallers ? "virtual" : "platform") + " callers";
        }
    }

    /** Every kind this backend and JDK allow: never one that would have to skip itself. */
    List<Kind> kinds() throws IOException {
        boolean virtualPollers;
        try (ParkingPoller probe = ParkingPoller.open(queues(), 1, true)) {
            virtualPollers = probe.virtualPollers();
        }
        List<Kind> kinds = new ArrayList<>();
        for (boolean vp : virtualPollers ? new boolean[] {false, true} : new boolean[] {false}) {
            for (boolean vc : VirtualThreads.available() ? new boolean[] {false, true} : new boolean[] {false}) {
                kinds.add(new Kind(vp, vc));
            }
        }
        return kinds;
    }

    private ParkingPoller.Queues queues() {
        return new ParkingPoller.Queues() {
            @Override
            public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
                return BlockingSocketsContract.this.open(fdOf);
            }
        };
    }

    private ParkingPoller parker(Kind kind) throws IOException {
        ParkingPoller p = closeLater(ParkingPoller.open(queues(), 1, kind.virtualPollers()));
        assertEquals(kind.virtualPollers(), p.virtualPollers(), "the kind of poller asked for");
        return p;
    }

    /** Starts {@code body} on a thread of the kind's callers, recording its result or failure. */
    private static Thread call(Kind kind, AtomicReference<Object> outcome, Call body) {
        Runnable r = () -> {
            try {
                outcome.set(body.run());
            } catch (Throwable e) {
                outcome.set(e);
            }
        };
        Thread t;
        if (kind.virtualCallers()) {
            t = VirtualThreads.unstarted("blocking-caller", r);
        } else {
            t = new Thread(r, "blocking-caller");
            t.setDaemon(true);
        }
        t.start();
        return t;
    }

    @FunctionalInterface
    private interface Call {
        Object run() throws Exception;
    }

    /** Waits until {@code t} is parked in a ParkingPoller's wait (its blocker says so). */
    private static void awaitParked(Thread t) {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (!(LockSupport.getBlocker(t) instanceof ParkingPoller)
                || t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(t.isAlive() && System.nanoTime() < deadline, "the caller never parked: " + t.getState());
            Thread.onSpinWait();
        }
    }

    private static void join(Thread t) throws InterruptedException {
        t.join(EVENTUALLY.toMillis());
        assertFalse(t.isAlive(), "the call did not end within " + EVENTUALLY);
    }

    private static String text(ByteBuffer b, int n) {
        byte[] bytes = new byte[n];
        b.get(b.position() - n, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    // ------------------------------------------------------------------ a close never leaks the next socket's bytes

    @ParameterizedTest
    @MethodSource("kinds")
    void aReadWokenAsItsChannelIsClosedNeverReturnsTheNextSocketsBytes(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        Random random = new Random(19);
        int reused = 0;
        for (int round = 0; round < RACE_ROUNDS; round++) {
            NativeSocketChannel[] a = NativeSockets.socketPair();
            int fd = a[0].getFD();
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = call(kind, outcome, () -> {
                ByteBuffer b = ByteBuffer.allocate(16);
                int n = io.read(a[0], b, EVENTUALLY);
                return n < 0 ? "end of stream" : text(b, n);
            });
            awaitParked(reader);
            write(a[1], "x");
            long until = System.nanoTime() + random.nextInt(80_000);
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            p.close(a[0]);
            NativeSocketChannel[] b = NativeSockets.socketPair();
            if (b[0].getFD() == fd || b[1].getFD() == fd) {
                reused++;
            }
            write(b[0], "SECRET");
            write(b[1], "SECRET");
            join(reader);
            Object o = outcome.get();
            assertTrue("x".equals(o) || o instanceof AsynchronousCloseException,
                    "round " + round + ": the read returned " + o + " (fd " + fd + ")");
            a[1].close();
            b[0].close();
            b[1].close();
        }
        assertTrue(reused > RACE_ROUNDS / 2, "the next socket took the closed fd's number in only " + reused
                + " of " + RACE_ROUNDS + " rounds: the race was not tried");
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aRawFdReadWokenAsItIsClosedNeverReturnsTheNextSocketsBytes(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        Random random = new Random(20);
        for (int round = 0; round < RACE_ROUNDS; round++) {
            NativeSocketChannel[] a = NativeSockets.socketPair();
            int fd = a[0].getFD(); // used raw from here on; the channel object is never closed
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = call(kind, outcome, () -> {
                ByteBuffer b = ByteBuffer.allocateDirect(16);
                int n = io.read(fd, b, EVENTUALLY);
                return n < 0 ? "end of stream" : text(b, n);
            });
            awaitParked(reader);
            write(a[1], "x");
            long until = System.nanoTime() + random.nextInt(80_000);
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            p.closeFd(fd);
            NativeSocketChannel[] b = NativeSockets.socketPair();
            write(b[0], "SECRET");
            write(b[1], "SECRET");
            join(reader);
            Object o = outcome.get();
            assertTrue("x".equals(o) || o instanceof AsynchronousCloseException,
                    "round " + round + ": the read returned " + o + " (fd " + fd + ")");
            a[1].close();
            b[0].close();
            b[1].close();
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void callsOnAChannelClosedBeforeThemNeverReachTheSocketOnItsNumber(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        for (boolean throughTheService : new boolean[] {true, false}) {
            NativeSocketChannel[] old = pair();
            int fd = old[0].getFD();
            if (throughTheService) {
                p.close(old[0]);
            } else {
                old[0].close(); // behind the service's back: the same clear error
            }
            NativeSocketChannel[] next = pairOnFd(fd);
            write(next[1], "SECRET");
            AtomicReference<Object> read = new AtomicReference<>();
            join(call(kind, read, () -> io.read(old[0], ByteBuffer.allocate(16), Duration.ofSeconds(1))));
            AtomicReference<Object> wrote = new AtomicReference<>();
            join(call(kind, wrote, () -> {
                io.write(old[0], ByteBuffer.wrap("LEAK".getBytes(StandardCharsets.US_ASCII)), Duration.ofSeconds(1));
                return "written";
            }));
            AtomicReference<Object> waited = new AtomicReference<>();
            join(call(kind, waited, () -> p.awaitReadable(old[0], Duration.ofSeconds(1))));
            AtomicReference<Object> probed = new AtomicReference<>();
            join(call(kind, probed, () -> p.awaitReadable(old[0], Duration.ZERO)));
            String how = throughTheService ? "closed through the service" : "closed behind its back";
            for (Object o : new Object[] {read.get(), wrote.get(), waited.get(), probed.get()}) {
                assertInstanceOf(ClosedChannelException.class, o, how);
                assertFalse(o instanceof AsynchronousCloseException, how + ": nothing was under way: " + o);
            }
            assertEquals("SECRET", readNow(next[0]), how + ": the next socket's bytes were consumed");
            assertEquals("", readNow(next[1]), how + ": bytes reached the next socket's peer");
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void closingAChannelEndsAParkedWriteAndAcceptWithAsynchronousCloseException(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] a = NativeSockets.socketPair();
        closeLater(a[1]);
        AtomicReference<Object> wrote = new AtomicReference<>();
        Thread writer = call(kind, wrote, () -> {
            io.write(a[0], ByteBuffer.allocate(32 << 20), null); // more than any socket buffer
            return "written";
        });
        awaitParked(writer);
        NativeServerSocketChannel listener = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 4);
        AtomicReference<Object> accepted = new AtomicReference<>();
        Thread acceptor = call(kind, accepted, () -> io.accept(listener, null));
        awaitParked(acceptor);
        p.close(a[0]);
        p.close(listener);
        join(writer);
        join(acceptor);
        assertInstanceOf(AsynchronousCloseException.class, wrote.get());
        assertInstanceOf(AsynchronousCloseException.class, accepted.get());
        assertFalse(a[0].isOpen() || listener.isOpen());
    }

    // ------------------------------------------------------------------ buffers

    /** The kinds of buffer a caller may pass, each with a position and a limit inside it. */
    private static List<ByteBuffer> buffers() {
        List<ByteBuffer> list = new ArrayList<>();
        list.add(ByteBuffer.allocate(64));
        list.add(ByteBuffer.allocateDirect(64));
        list.add(ByteBuffer.allocate(80).position(7).slice()); // arrayOffset 7
        list.add(ByteBuffer.allocateDirect(80).position(7).slice());
        list.add(ByteBuffer.wrap(new byte[100], 10, 50).slice());
        for (ByteBuffer b : list) {
            for (int i = 0; i < b.capacity(); i++) {
                b.put(i, (byte) 0x55);
            }
            b.position(3).limit(40);
        }
        return list;
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aReadChangesOnlyTheBytesItReadInEveryKindOfBuffer(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] pair = pair();
        for (ByteBuffer dst : buffers()) {
            write(pair[1], "hello");
            AtomicReference<Object> got = new AtomicReference<>();
            join(call(kind, got, () -> io.read(pair[0], dst, EVENTUALLY)));
            assertEquals(5, got.get(), dst.toString());
            assertEquals(8, dst.position(), dst.toString());
            ByteBuffer all = dst.duplicate().clear();
            for (int i = 0; i < all.capacity(); i++) {
                byte want = i >= 3 && i < 8 ? (byte) "hello".charAt(i - 3) : 0x55;
                assertEquals(want, all.get(i), "byte " + i + " of " + dst + (dst.isDirect() ? " (direct)" : " (heap)"));
            }
        }
        ByteBuffer readOnly = ByteBuffer.allocate(8).asReadOnlyBuffer();
        assertThrows(IllegalArgumentException.class, () -> io.read(pair[0], readOnly, EVENTUALLY));
        assertThrows(IllegalArgumentException.class, () -> NativeSockets.recv(pair[0].getFD(), readOnly));
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aWriteSendsExactlyPositionToLimitFromEveryKindOfBuffer(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] pair = pair();
        List<ByteBuffer> sources = new ArrayList<>();
        for (ByteBuffer b : buffers()) {
            for (int i = b.position(); i < b.limit(); i++) {
                b.put(i, (byte) (i * 7 + 1));
            }
            sources.add(b);
        }
        sources.add(sources.get(0).duplicate().asReadOnlyBuffer());
        sources.add(sources.get(1).duplicate().asReadOnlyBuffer());
        for (ByteBuffer src : sources) {
            byte[] expected = new byte[src.remaining()];
            src.get(src.position(), expected);
            AtomicReference<Object> done = new AtomicReference<>();
            join(call(kind, done, () -> {
                io.write(pair[0], src, EVENTUALLY);
                return "written";
            }));
            assertEquals("written", done.get(), src.toString());
            assertEquals(40, src.position(), src.toString());
            ByteBuffer in = ByteBuffer.allocate(expected.length);
            while (in.hasRemaining()) {
                assertTrue(io.read(pair[1], in, EVENTUALLY) > 0);
            }
            assertArrayEquals(expected, in.array(), src.toString());
            assertEquals("", readNow(pair[1]), "more than position to limit was sent from " + src);
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aWriteThatKeepsMakingProgressStillEndsAtItsTimeout(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] pair = pair();
        AtomicBoolean stop = new AtomicBoolean();
        // Drains about 4 MB/s, a little at a time: the writer's sends keep finding some room (each
        // makes progress), while all of 64 MiB would take the drainer 16 s.
        Thread drainer = new Thread(() -> {
            ByteBuffer b = ByteBuffer.allocate(16 * 1024);
            try {
                while (!stop.get()) {
                    pair[1].read(b.clear());
                    Thread.sleep(4);
                }
            } catch (IOException | InterruptedException e) {
                // the test is over
            }
        }, "slow-reader");
        drainer.setDaemon(true);
        drainer.start();
        try {
            for (ByteBuffer big : new ByteBuffer[] {ByteBuffer.allocate(64 << 20), ByteBuffer.allocateDirect(64 << 20)}) {
                Duration timeout = Duration.ofMillis(300);
                AtomicReference<Object> outcome = new AtomicReference<>();
                long start = System.nanoTime();
                Thread writer = call(kind, outcome, () -> {
                    io.write(pair[0], big, timeout);
                    return "written";
                });
                join(writer);
                long took = System.nanoTime() - start;
                assertInstanceOf(SocketTimeoutException.class, outcome.get(), big.toString());
                assertTrue(took >= timeout.toNanos(), "timed out early: " + took + " ns");
                assertTrue(took < timeout.toNanos() + TimeUnit.SECONDS.toNanos(5),
                        "a " + timeout.toMillis() + " ms write took " + took / 1_000_000 + " ms");
                assertTrue(((Throwable) outcome.get()).getMessage().contains(big.position() + " of " + (64 << 20)),
                        ((Throwable) outcome.get()).getMessage());
            }
        } finally {
            stop.set(true);
            drainer.join(EVENTUALLY.toMillis());
        }
    }

    /**
     * A read into a buffer with no room returns 0 at once, as java.nio's {@code read} does, whether
     * data is waiting or not, and leaves the data for the next read (issue 23, bug 10: it parked
     * instead, until its timeout with nothing to read, or spinning with data waiting).
     */
    @ParameterizedTest
    @MethodSource("kinds")
    void aReadWithNoRoomLeftReturnsZeroAtOnce(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] pair = pair();
        for (boolean dataWaiting : new boolean[] {false, true}) {
            if (dataWaiting) {
                write(pair[1], "x");
            }
            ByteBuffer full = ByteBuffer.allocate(4).position(4);
            AtomicReference<Object> read = new AtomicReference<>();
            join(call(kind, read, () -> io.read(pair[0], full, EVENTUALLY)));
            assertEquals(0, read.get(), "data waiting: " + dataWaiting);
            AtomicReference<Object> raw = new AtomicReference<>();
            join(call(kind, raw, () -> io.read(pair[0].getFD(), ByteBuffer.allocateDirect(0), null)));
            assertEquals(0, raw.get(), "raw fd, data waiting: " + dataWaiting);
        }
        assertEquals("x", readNow(pair[0]), "the data is still there");
    }

    /**
     * The plain outcomes through both entry points: a raw-fd write, an end of stream read as -1
     * (channel and raw fd), and the poller the calls park in.
     */
    @ParameterizedTest
    @MethodSource("kinds")
    void aRawWriteArrivesAndAPeersCloseReadsAsEndOfStream(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        assertTrue(io.poller() == p, "the poller given at construction");
        NativeSocketChannel[] pair = pair();
        AtomicReference<Object> wrote = new AtomicReference<>();
        join(call(kind, wrote, () -> {
            io.write(pair[0].getFD(), ByteBuffer.wrap("raw".getBytes(StandardCharsets.US_ASCII)), EVENTUALLY);
            return "written";
        }));
        assertEquals("written", wrote.get());
        assertEquals("raw", readNow(pair[1]));
        pair[1].close();
        AtomicReference<Object> read = new AtomicReference<>();
        join(call(kind, read, () -> io.read(pair[0], ByteBuffer.allocate(8), EVENTUALLY)));
        assertEquals(-1, read.get(), "end of stream, channel");
        AtomicReference<Object> rawRead = new AtomicReference<>();
        join(call(kind, rawRead, () -> io.read(pair[0].getFD(), ByteBuffer.allocateDirect(8), EVENTUALLY)));
        assertEquals(-1, rawRead.get(), "end of stream, raw fd");
    }

    /**
     * A write that cannot make progress parks in the poller until its timeout: it burns no CPU
     * meanwhile (a write that, with a full buffer, tried again at once instead would spin).
     * Measured on the calling thread itself (a platform thread).
     */
    @ParameterizedTest
    @MethodSource("kinds")
    void aWriteToAFullBufferParksWithoutSpinning(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] pair = pair();
        ByteBuffer chunk = ByteBuffer.allocateDirect(64 * 1024);
        while (pair[0].write(chunk.clear()) > 0) {
            // fill the send buffer
        }
        long cpu = cpuNanos();
        long start = System.nanoTime();
        SocketTimeoutException e = assertThrows(SocketTimeoutException.class,
                () -> io.write(pair[0], ByteBuffer.allocate(1024), Duration.ofMillis(300)));
        long wall = System.nanoTime() - start;
        assertTrue(wall >= TimeUnit.MILLISECONDS.toNanos(300), "timed out early: " + wall + " ns");
        assertTrue(e.getMessage().contains("0 of 1024 bytes written"), e.getMessage());
        assertNoSpin(cpuNanos() - cpu, wall, "a write to a full buffer");
    }

    /**
     * Accept and connect on what cannot be used: accept on a listener closed before the call is a
     * ClosedChannelException (nothing was under way), as read and write are; a refused connect
     * leaves no fd behind; a connect still in progress at its timeout (the listener's backlog is
     * full, so the kernel drops our SYN) throws SocketTimeoutException, closes its socket, and is
     * never reported connected before it is.
     */
    @ParameterizedTest
    @MethodSource("kinds")
    void acceptAndConnectRefuseWhatCannotBeUsedAndLeaveNothingOpen(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeServerSocketChannel closedListener = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 4);
        closedListener.configureBlocking(false);
        closedListener.close();
        AtomicReference<Object> accepted = new AtomicReference<>();
        join(call(kind, accepted, () -> io.accept(closedListener, EVENTUALLY)));
        assertInstanceOf(ClosedChannelException.class, accepted.get());
        assertFalse(accepted.get() instanceof AsynchronousCloseException, "nothing was under way: " + accepted.get());

        InetSocketAddress closedPort;
        try (NativeServerSocketChannel l = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 1)) {
            closedPort = (InetSocketAddress) NativeSockets.localAddress(l.getFD());
        }
        java.util.Set<Integer> before = fdNumbers();
        AtomicReference<Object> refused = new AtomicReference<>();
        join(call(kind, refused, () -> io.connect(closedPort, EVENTUALLY)));
        assertInstanceOf(ConnectException.class, refused.get());
        assertNoNewFds(before, "a refused connect left its socket open");

        NativeServerSocketChannel full = closeLater(NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 0));
        InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(full.getFD());
        List<NativeSocketChannel> queued = new ArrayList<>();
        for (int i = 0; i < 8; i++) { // more than any backlog of 0 holds: the last ones stay in progress
            queued.add(closeLater(NativeSockets.startConnect(at)));
        }
        before = fdNumbers();
        AtomicReference<Object> pending = new AtomicReference<>();
        join(call(kind, pending, () -> io.connect(at, Duration.ofMillis(200))));
        assertInstanceOf(SocketTimeoutException.class, pending.get(), "a connect the kernel has not made: " + pending.get());
        assertNoNewFds(before, "a connect that timed out left its socket open");

        NativeServerSocketChannel open = closeLater(NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 4));
        AtomicReference<Object> connected = new AtomicReference<>();
        join(call(kind, connected, () -> io.connect((InetSocketAddress) NativeSockets.localAddress(open.getFD()), EVENTUALLY)));
        NativeSocketChannel c = closeLater(assertInstanceOf(NativeSocketChannel.class, connected.get()));
        assertTrue(c.isOpen(), "a connected channel was returned closed");
        assertTrue(NativeSockets.finishConnect(c), "returned before it was connected");
    }

    // ------------------------------------------------------------------ errors

    @ParameterizedTest
    @MethodSource("kinds")
    void aResetDuringAParkedReadIsAnErrorNotAnEndOfStream(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        for (int round = 0; round < 3; round++) {
            NativeSocketChannel[] tcp = tcpPair();
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread reader = call(kind, outcome, () -> io.read(tcp[0], ByteBuffer.allocate(16), EVENTUALLY));
            awaitParked(reader);
            NativeSockets.abort(tcp[1]);
            join(reader);
            Object o = outcome.get();
            assertInstanceOf(IOException.class, o, "a reset read as " + o);
            assertFalse(o instanceof SocketTimeoutException, o.toString());
            if (o instanceof NativeIOException) {
                assertEquals("ECONNRESET", ((NativeIOException) o).errnoName(), o.toString());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void aRefusedConnectIsAConnectExceptionNamingTheAddress(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        InetSocketAddress closedPort;
        try (NativeServerSocketChannel l = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 1)) {
            closedPort = (InetSocketAddress) NativeSockets.localAddress(l.getFD());
        }
        AtomicReference<Object> outcome = new AtomicReference<>();
        join(call(kind, outcome, () -> io.connect(closedPort, EVENTUALLY)));
        ConnectException e = assertInstanceOf(ConnectException.class, outcome.get());
        assertTrue(e.getMessage().contains("127.0.0.1:" + closedPort.getPort()) && e.getMessage().contains("ECONNREFUSED"),
                e.getMessage());
        assertInstanceOf(NativeIOException.class, e.getCause());
    }

    // ------------------------------------------------------------------ timeouts at both ends

    @ParameterizedTest
    @MethodSource("kinds")
    void aZeroTimeoutReportsTheStateNowWithoutParking(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        NativeSocketChannel[] pair = pair();
        assertEquals(0, p.awaitReadable(pair[0], Duration.ZERO), "nothing to read yet");
        assertEquals(SocketEvent.WRITE, p.awaitWritable(pair[0], Duration.ZERO), "a new socket is writable");
        write(pair[1], "x");
        for (int i = 0; i < 200; i++) {
            assertEquals(SocketEvent.READ, p.awaitReadable(pair[0], Duration.ZERO), "try " + i);
            assertEquals(SocketEvent.READ, p.awaitReadable(pair[0].getFD(), Duration.ZERO), "raw, try " + i);
        }
        assertEquals("x", readNow(pair[0]), "probing consumed data");
        pair[1].close();
        int ops = p.awaitReadable(pair[0], Duration.ZERO);
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED, ops & (SocketEvent.READ | SocketEvent.PEER_CLOSED),
                SocketEvent.opsToString(ops));
        assertThrows(IllegalArgumentException.class, () -> p.awaitReadable(pair[0], Duration.ofNanos(-1)));

        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] quiet = pair();
        assertThrows(SocketTimeoutException.class, () -> io.read(quiet[0], ByteBuffer.allocate(4), Duration.ZERO));
        write(quiet[1], "now");
        ByteBuffer b = ByteBuffer.allocate(4);
        assertEquals(3, io.read(quiet[0], b, Duration.ZERO), "a zero-timeout read takes what is there");
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void timeoutsTooLargeForTheClockMeanNoLimit(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        Duration[] huge = {ChronoUnit.FOREVER.getDuration(), Duration.ofDays(365_000), Duration.ofSeconds(Long.MAX_VALUE / 1_000_000_000L)};
        for (Duration d : huge) {
            NativeSocketChannel[] pair = pair();
            AtomicReference<Object> waited = new AtomicReference<>();
            Thread t = call(kind, waited, () -> p.awaitReadable(pair[0], d));
            awaitParked(t);
            write(pair[1], "x");
            join(t);
            assertEquals(SocketEvent.READ, waited.get(), d.toString());
            assertEquals(SocketEvent.WRITE, p.awaitWritable(pair[0], d), d.toString());

            AtomicReference<Object> read = new AtomicReference<>();
            join(call(kind, read, () -> io.read(pair[0], ByteBuffer.allocate(4), d)));
            assertEquals(1, read.get(), d.toString());
            AtomicReference<Object> wrote = new AtomicReference<>();
            join(call(kind, wrote, () -> {
                io.write(pair[0], ByteBuffer.wrap(new byte[] {1, 2}), d);
                return "written";
            }));
            assertEquals("written", wrote.get(), d.toString());

            NativeServerSocketChannel listener = closeLater(NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 4));
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(listener.getFD());
            AtomicReference<Object> connected = new AtomicReference<>();
            join(call(kind, connected, () -> io.connect(at, d)));
            closeLater(assertInstanceOf(NativeSocketChannel.class, connected.get(), d.toString()));
            AtomicReference<Object> accepted = new AtomicReference<>();
            join(call(kind, accepted, () -> io.accept(listener, d)));
            closeLater(assertInstanceOf(NativeSocketChannel.class, accepted.get(), d.toString()));
        }
    }

    // ------------------------------------------------------------------ blocking-mode fds

    @ParameterizedTest
    @MethodSource("kinds")
    void aSocketLeftInBlockingModeStillKeepsTheTimeout(Kind kind) throws Exception {
        ParkingPoller p = parker(kind);
        BlockingSockets io = new BlockingSockets(p);
        NativeSocketChannel[] pair = pair();
        pair[0].configureBlocking(true);
        Duration timeout = Duration.ofMillis(100);
        AtomicReference<Object> outcome = new AtomicReference<>();
        long start = System.nanoTime();
        join(call(kind, outcome, () -> io.read(pair[0], ByteBuffer.allocate(4), timeout)));
        long took = System.nanoTime() - start;
        assertInstanceOf(SocketTimeoutException.class, outcome.get());
        assertTrue(took >= timeout.toNanos() && took < timeout.toNanos() + EVENTUALLY.toNanos() / 2,
                "took " + took / 1_000_000 + " ms");

        NativeServerSocketChannel blockingListener = closeLater(
                NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 4));
        blockingListener.configureBlocking(true);
        assertThrows(IllegalBlockingModeException.class, () -> io.accept(blockingListener, timeout));
    }
}
