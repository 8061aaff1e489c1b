package io.polyplex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.ClosedParkingPollerException;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.ParkingPoller;
import io.polyplex.net.BlockingAcceptor;
import io.polyplex.net.BlockingSockets;
import io.polyplex.net.NativeSockets;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.unixsocket.UnixServerSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Javadoc's code examples ({@link ApiExamples}) do what their Javadoc says, on every backend that
 * runs here. {@link JavadocExamplesTest} keeps the Javadoc's copies identical to them.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ApiExamplesTest {

    private static final long EVENTUALLY_MS = 20_000;

    static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    /**
     * EventQueue's example: counts what arrives, removes and closes a socket whose peer closed or
     * reset, and stops on {@code stop} from another thread; a stop after the queue was closed does
     * not throw.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void eventQueuesExampleCountsAndStopsOnAWakeup(String backend) throws Exception {
        EventQueue<NativeSocketChannel> queue = EventQueues.open(backend, NativeSocketChannel::getFD);
        NativeSocketChannel[][] pairs = {NativeSockets.socketPair(), NativeSockets.socketPair(), NativeSockets.socketPair()};
        try {
            for (NativeSocketChannel[] p : pairs) {
                queue.subscribeRead(p[0]);
            }
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService loop = Executors.newSingleThreadExecutor();
            Future<Long> total = loop.submit(() -> ApiExamples.countBytes(queue, running));
            for (int i = 0; i < pairs.length; i++) {
                pairs[i][1].write(ByteBuffer.wrap(new byte[10 * (i + 1)]));
                pairs[i][1].close();           // the loop reads, sees the end, removes and closes
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EVENTUALLY_MS);
            while (Stream.of(pairs).anyMatch(p -> p[0].isOpen())) {
                assertTrue(System.nanoTime() < deadline, "the loop did not close the sockets whose peer closed");
                Thread.sleep(5);
            }
            assertFalse(queue.isSubscribedRead(pairs[0][0]), "removed before it was closed");
            ApiExamples.stop(queue, running);
            assertEquals(60L, total.get(EVENTUALLY_MS, TimeUnit.MILLISECONDS));
            loop.shutdown();
            queue.close();
            ApiExamples.stop(queue, running);  // the race the idiom meets: wakeup after close
        } finally {
            queue.close();
            for (NativeSocketChannel[] p : pairs) {
                p[0].close();
                p[1].close();
            }
        }
    }

    /** EventQueues' example: lists every backend with its verdict, opens the best or the one named. */
    @Test
    void eventQueuesExampleListsTheBackendsAndOpensTheBestOrTheOneNamed() throws Exception {
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);
        List<BackendInfo> all = EventQueues.backends();
        try (EventQueue<NativeSelectableChannel> best = ApiExamples.open(null, out)) {
            assertEquals(all.stream().filter(BackendInfo::supported).findFirst().orElseThrow().name(), best.backend());
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        for (BackendInfo b : all) {
            assertTrue(text.contains(b.name() + ": " + (b.supported() ? "runs here" : "does not run here")), text);
        }
        for (BackendInfo b : all) {
            if (b.supported()) {
                try (EventQueue<NativeSelectableChannel> q = ApiExamples.open(b.name(), out)) {
                    assertEquals(b.name(), q.backend());
                }
            } else {
                assertThrows(UnsupportedOperationException.class, () -> ApiExamples.open(b.name(), out));
            }
        }
    }

    /**
     * ParkingPoller's example: returns what came, -1 at the end, times out (never early), and a close
     * through the poller ends a parked read with AsynchronousCloseException, a close of the poller
     * with ClosedParkingPollerException.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void parkingPollersExampleReadsTimesOutAndEndsOnClose(String backend) throws Exception {
        ParkingPoller poller = ParkingPoller.open(backend, 1);
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            ByteBuffer buf = ByteBuffer.allocate(16);
            Future<Integer> read = reader.submit(() -> ApiExamples.read(poller, pair[0], buf, Duration.ofSeconds(30)));
            Thread.sleep(50);
            pair[1].write(ByteBuffer.wrap("hi".getBytes(StandardCharsets.US_ASCII)));
            assertEquals(2, read.get(EVENTUALLY_MS, TimeUnit.MILLISECONDS));

            long start = System.nanoTime();
            assertThrows(SocketTimeoutException.class, () -> ApiExamples.read(poller, pair[0], buf.clear(), Duration.ofMillis(50)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(50), "timed out early");

            Future<Integer> parked = reader.submit(() -> ApiExamples.read(poller, pair[0], buf.clear(), null));
            Thread.sleep(50);
            poller.close(pair[0]);
            Throwable e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> parked.get(EVENTUALLY_MS, TimeUnit.MILLISECONDS)).getCause();
            assertTrue(e instanceof AsynchronousCloseException, String.valueOf(e));

            NativeSocketChannel[] other = NativeSockets.socketPair();
            try {
                Future<Integer> toBeEnded = reader.submit(() -> ApiExamples.read(poller, other[0], buf.clear(), null));
                Thread.sleep(50);
                poller.close();
                e = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> toBeEnded.get(EVENTUALLY_MS, TimeUnit.MILLISECONDS)).getCause();
                assertTrue(e instanceof ClosedParkingPollerException, String.valueOf(e));
                other[1].close();
            } finally {
                other[0].close();
                other[1].close();
            }
        } finally {
            reader.shutdownNow();
            poller.close();
            pair[0].close();
            pair[1].close();
        }
    }

    /** BlockingSockets' example: a whole exchange with a server that answers once the request ended. */
    @ParameterizedTest
    @MethodSource("backends")
    void blockingSocketsExampleExchangesARequestForTheWholeAnswer(String backend) throws Exception {
        try (ParkingPoller poller = ParkingPoller.open(backend, 1);
             NativeServerSocketChannel listener = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8)) {
            BlockingSockets io = new BlockingSockets(poller);
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(listener);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread server = new Thread(() -> {
                try (NativeSocketChannel c = io.accept(listener, Duration.ofSeconds(20))) {
                    ByteArrayOutputStream request = new ByteArrayOutputStream();
                    ByteBuffer buf = ByteBuffer.allocate(7);   // small: several reads
                    while (io.read(c, buf.clear(), Duration.ofSeconds(20)) > 0) {
                        request.write(buf.array(), 0, buf.position());
                    }
                    byte[] answer = ("you sent: " + request.toString(StandardCharsets.UTF_8)).repeat(1000)
                            .getBytes(StandardCharsets.UTF_8);
                    io.write(c, ByteBuffer.wrap(answer), Duration.ofSeconds(20));
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            server.start();
            String answer = ApiExamples.exchange(io, at, "GET /\n");
            server.join(EVENTUALLY_MS);
            assertNull(failure.get());
            assertEquals("you sent: GET /\n".repeat(1000), answer);
        }
    }

    /**
     * BlockingAcceptor's example: two accept loops in the caller's poller serve every client; one
     * shutdown ends both and closes the listener, and the poller goes on serving its other users.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void blockingAcceptorsExampleServesOnTwoThreadsAndStopsOnShutdown(String backend) throws Exception {
        ExecutorService threads = ThreadPerConnectionEcho.virtualThreadsIfAny();
        try (ParkingPoller poller = ParkingPoller.open(backend, 1)) {
            NativeServerSocketChannel listener = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 16);
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(listener);
            BlockingAcceptor acceptor = ApiExamples.acceptOn(poller, listener, 2, threads, c -> {
                try (c) {
                    NativeSockets.send(c, ByteBuffer.wrap("hi\n".getBytes(StandardCharsets.US_ASCII)));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            for (int i = 0; i < 5; i++) {
                try (Socket client = new Socket(at.getAddress(), at.getPort())) {
                    client.setSoTimeout((int) EVENTUALLY_MS);
                    InputStream in = client.getInputStream();
                    assertEquals("hi\n", new String(in.readAllBytes(), StandardCharsets.US_ASCII));
                }
            }
            acceptor.shutdown();
            assertTrue(acceptor.awaitTermination(Duration.ofMillis(EVENTUALLY_MS)), "the accept loops did not end");
            assertFalse(listener.isOpen(), "the acceptor closes the listener once the loops have left");
            threads.shutdown();
            assertTrue(threads.awaitTermination(EVENTUALLY_MS, TimeUnit.MILLISECONDS), "an accept thread is still running");
            NativeSocketChannel[] pair = NativeSockets.socketPair();
            try {
                pair[1].write(ByteBuffer.wrap(new byte[1]));
                assertTrue(poller.awaitReadable(pair[0], Duration.ofMillis(EVENTUALLY_MS)) != 0, "the shared poller stopped");
            } finally {
                pair[0].close();
                pair[1].close();
            }
        } finally {
            threads.shutdownNow();
        }
    }

    /** NativeSockets' example: a jnr-unixsocket listener, accepted from with NativeSockets, names its path. */
    @Test
    void nativeSocketsExampleAcceptsOnAUnixSocket(@TempDir Path dir) throws Exception {
        Path path = dir.resolve("example.sock");
        try (UnixServerSocketChannel server = ApiExamples.listen(path.toFile())) {
            assertNull(ApiExamples.acceptedOn(server), "nobody waits yet");
            try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                client.connect(UnixDomainSocketAddress.of(path));
                assertEquals(path, ApiExamples.acceptedOn(server));
            }
        }
        assertThrows(IOException.class, () -> ApiExamples.listen(dir.resolve("no/such/dir/x.sock").toFile()));
    }
}
