package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import io.polyplex.NativeIOException;
import io.polyplex.ParkingPoller;
import io.polyplex.conformance.ContractBase;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link BlockingSockets} on every backend that runs here, with platform threads (the virtual-thread
 * proofs are in {@code VirtualThread*Test}): each call waits for what it needs and no longer, never
 * returns before its timeout nor long after it (spurious wakes and a peer's progress included),
 * writes everything, and leaves no fd behind.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SuppressWarnings("try") // the spurious wakes only have to go on while a call waits
class BlockingSocketsTest {

    static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void readWaitsForDataAndTimesOutNeverEarly(String backend) throws Exception {
        try (ParkingPoller poller = ParkingPoller.open(backend, 1)) {
            BlockingSockets io = new BlockingSockets(poller);
            NativeSocketChannel[] pair = NativeSockets.socketPair();
            try {
                ByteBuffer dst = ByteBuffer.allocate(16);
                long start = System.nanoTime();
                try (ContractBase.SpuriousWakes wakes = new ContractBase.SpuriousWakes(Thread.currentThread())) {
                    assertThrows(SocketTimeoutException.class, () -> io.read(pair[0], dst, Duration.ofMillis(200)));
                }
                assertTimedOutOnTime(start, Duration.ofMillis(200), "read");
                assertEquals(0, dst.position(), "a timed-out read consumed data");

                AtomicReference<Object> got = new AtomicReference<>();
                Thread reader = new Thread(() -> {
                    try {
                        ByteBuffer b = ByteBuffer.allocate(16);
                        int n = io.read(pair[0], b, null);
                        got.set(new String(b.array(), 0, n, java.nio.charset.StandardCharsets.US_ASCII));
                    } catch (Throwable t) {
                        got.set(t);
                    }
                });
                reader.start();
                awaitParked(reader);
                NativeSockets.send(pair[1].getFD(), ByteBuffer.wrap("hi".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
                reader.join(20_000);
                assertEquals("hi", got.get());

                pair[1].close();
                assertEquals(-1, io.read(pair[0].getFD(), ByteBuffer.allocate(4), Duration.ofSeconds(20)), "end of stream");
            } finally {
                pair[0].close();
                pair[1].close();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void writeSendsEverythingThroughAFullBuffer(String backend) throws Exception {
        try (ParkingPoller poller = ParkingPoller.open(backend, 1)) {
            BlockingSockets io = new BlockingSockets(poller);
            NativeSocketChannel[] pair = NativeSockets.socketPair();
            try {
                byte[] data = new byte[4 << 20];
                new Random(7).nextBytes(data);
                byte[] received = new byte[data.length];
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread reader = new Thread(() -> {
                    try {
                        ByteBuffer in = ByteBuffer.wrap(received);
                        while (in.hasRemaining()) {
                            if (io.read(pair[1], in, Duration.ofSeconds(20)) < 0) {
                                throw new AssertionError("end of stream after " + in.position());
                            }
                        }
                    } catch (Throwable t) {
                        failure.set(t);
                    }
                });
                reader.start();
                ByteBuffer src = ByteBuffer.wrap(data);
                io.write(pair[0], src, Duration.ofSeconds(60));
                assertFalse(src.hasRemaining());
                reader.join(60_000);
                assertEquals(null, failure.get());
                assertArrayEquals(data, received);

                // A write to a peer that reads nothing times out, saying how much went.
                ByteBuffer big = ByteBuffer.allocate(16 << 20);
                long start = System.nanoTime();
                SocketTimeoutException e = assertThrows(SocketTimeoutException.class,
                        () -> io.write(pair[0], big, Duration.ofMillis(300)));
                assertTimedOutOnTime(start, Duration.ofMillis(300), "write");
                assertTrue(e.getMessage().contains((big.position()) + " of " + (16 << 20) + " bytes written"), e.getMessage());
            } finally {
                pair[0].close();
                pair[1].close();
            }
        }
    }

    /**
     * A write's timeout is for the whole write: a peer that keeps making a little room (and so
     * keeps waking the write's waits) does not stretch it. The write times out after its 1 s, not
     * after the 32 MiB the trickle would take 10 s or so to drain.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aWriteTimesOutOnTimeWhileThePeerKeepsMakingRoom(String backend) throws Exception {
        try (ParkingPoller poller = ParkingPoller.open(backend, 1)) {
            BlockingSockets io = new BlockingSockets(poller);
            NativeSocketChannel[] pair = NativeSockets.socketPair();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong drained = new java.util.concurrent.atomic.AtomicLong();
            Thread trickle = new Thread(() -> {
                ByteBuffer sink = ByteBuffer.allocateDirect(32 << 10);
                try {
                    while (!stop.get()) {
                        sink.clear();
                        drained.addAndGet(Math.max(0, NativeSockets.recv(pair[1].getFD(), sink)));
                        Thread.sleep(10);
                    }
                } catch (Exception ignored) {
                    // the test is over
                }
            }, "trickle");
            trickle.setDaemon(true);
            try {
                trickle.start();
                ByteBuffer big = ByteBuffer.allocate(32 << 20);
                long start = System.nanoTime();
                SocketTimeoutException e = assertThrows(SocketTimeoutException.class,
                        () -> io.write(pair[0], big, Duration.ofSeconds(1)), "the whole write within 1 s");
                assertTimedOutOnTime(start, Duration.ofSeconds(1), "write");
                assertTrue(e.getMessage().contains(big.position() + " of " + (32 << 20) + " bytes written"), e.getMessage());
                assertTrue(drained.get() > 0, "the peer made no room: the write's waits were never woken");
            } finally {
                stop.set(true);
                trickle.join(20_000);
                pair[0].close();
                pair[1].close();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void acceptAndConnectParkUntilDoneAndLeaveNoFd(String backend) throws Exception {
        Set<Integer> before = ContractBase.fdNumbers();
        try (ParkingPoller poller = ParkingPoller.open(backend, 1)) {
            BlockingSockets io = new BlockingSockets(poller);
            try (NativeServerSocketChannel listener = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 16)) {
                InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(listener.getFD());
                long start = System.nanoTime();
                try (ContractBase.SpuriousWakes wakes = new ContractBase.SpuriousWakes(Thread.currentThread())) {
                    assertThrows(SocketTimeoutException.class, () -> io.accept(listener, Duration.ofMillis(150)));
                }
                assertTimedOutOnTime(start, Duration.ofMillis(150), "accept");

                AtomicReference<Object> accepted = new AtomicReference<>();
                Thread acceptor = new Thread(() -> {
                    try {
                        accepted.set(io.accept(listener, null));
                    } catch (Throwable t) {
                        accepted.set(t);
                    }
                });
                acceptor.start();
                awaitParked(acceptor);
                try (NativeSocketChannel client = io.connect(at, Duration.ofSeconds(20))) {
                    acceptor.join(20_000);
                    assertTrue(accepted.get() instanceof NativeSocketChannel, "accept: " + accepted.get());
                    try (NativeSocketChannel server = (NativeSocketChannel) accepted.get()) {
                        io.write(client, ByteBuffer.wrap(new byte[] {42}), Duration.ofSeconds(20));
                        ByteBuffer b = ByteBuffer.allocate(1);
                        assertEquals(1, io.read(server, b, Duration.ofSeconds(20)));
                        assertEquals(42, b.get(0));
                    }
                }
            }
            // a refused connect leaves nothing open and names the address
            InetSocketAddress closedPort;
            try (NativeServerSocketChannel l = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 1)) {
                closedPort = (InetSocketAddress) NativeSockets.localAddress(l.getFD());
            }
            java.io.IOException refused = assertThrows(java.io.IOException.class, () -> io.connect(closedPort, Duration.ofSeconds(20)));
            assertNotNull(refused.getMessage());
            assertTrue(refused instanceof NativeIOException || refused.getMessage().contains("ECONNREFUSED"), refused.toString());
        }
        assertEquals(Set.of(), ContractBase.newFds(before), "fds left open");
    }

    private static void awaitParked(Thread t) throws InterruptedException {
        ContractBase.awaitParkedInAParkingPoller(t);
    }

    /**
     * A call that started at {@code start} timed out never before {@code timeout} and not long
     * after it: within a further 10 s, though spurious wakes or a peer's progress woke its waits.
     */
    private static void assertTimedOutOnTime(long start, Duration timeout, String call) {
        long took = System.nanoTime() - start;
        assertTrue(took >= timeout.toNanos(), call + " timed out early, after " + took + " ns of " + timeout);
        assertTrue(took < timeout.toNanos() + TimeUnit.SECONDS.toNanos(10),
                call + " timed out only after " + took / 1_000_000 + " ms of " + timeout);
    }
}
