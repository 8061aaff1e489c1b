package io.polyplex.net;

import static io.polyplex.net.VirtualThreadSupport.EVENTUALLY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.ParkingPoller;
import io.polyplex.conformance.ContractBase;
import io.polyplex.net.VirtualThreadSupport.PinnedRecording;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;
import jdk.jfr.consumer.RecordedEvent;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The third proof: 64 virtual threads block in {@link BlockingAcceptor#accept()} on one
 * listener while 200 clients connect, each is accepted, served (its request read and answered with
 * {@link BlockingSockets}, on the same virtual thread) and counted once; a JFR recording of it all
 * holds no {@code jdk.VirtualThreadPinned}; then {@link BlockingAcceptor#shutdown()} ends all 64
 * (accept returns null) within a generous bound, awaitTermination says true, and no fd is left.
 */
@EnabledForJreRange(min = JRE.JAVA_21, disabledReason = VirtualThreadSupport.NEEDS_21)
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VirtualThreadAcceptTest {

    private static final int ACCEPTORS = 64;
    private static final int CLIENTS = 200;
    /** Platform threads that run the clients, a few connections at a time. */
    private static final int CLIENT_THREADS = 8;

    static Stream<String> backends() {
        return VirtualThreadSupport.backends();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void sixtyFourVirtualThreadsAcceptServeAndStopWithoutPinning(String backend) throws Exception {
        // The JDK's first socket makes it open one of its own for good (the marker it dup2s onto
        // the fds it closes): let that happen before the fds are counted.
        new Socket().close();
        Set<Integer> fdsBefore = ContractBase.fdNumbers();
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), CLIENTS);
        InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
        BlockingAcceptor acceptor = new BlockingAcceptor(server, backend);
        AtomicInteger served = new AtomicInteger();
        AtomicInteger gotNull = new AtomicInteger();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        List<RecordedEvent> pinned;
        long stopped;
        ExecutorService clients = Executors.newFixedThreadPool(CLIENT_THREADS);
        try (ParkingPoller connections = ParkingPoller.open(backend, 1);
             PinnedRecording jfr = PinnedRecording.start()) {
            BlockingSockets sockets = new BlockingSockets(connections);
            for (int i = 0; i < ACCEPTORS; i++) {
                threads.add(VirtualThreadSupport.startVirtual("acceptor-" + i, () -> {
                    try {
                        NativeSocketChannel c;
                        while ((c = acceptor.accept()) != null) {
                            try (NativeSocketChannel conn = c) {
                                ByteBuffer request = ByteBuffer.allocate(4);
                                while (request.hasRemaining()) {
                                    if (sockets.read(conn, request, EVENTUALLY) < 0) {
                                        throw new java.io.EOFException("client left before its request");
                                    }
                                }
                                sockets.write(conn, ByteBuffer.allocate(4).putInt(0, request.getInt(0) + 1), EVENTUALLY);
                            }
                            served.incrementAndGet();
                        }
                        gotNull.incrementAndGet();
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            // In accept(), parked in the acceptor's own poller (not the connections').
            Predicate<Object> inAccept = blocker -> blocker instanceof ParkingPoller && blocker != connections;
            VirtualThreadSupport.awaitAllParked(threads, inAccept, backend + ": threads in accept()");

            long t0 = System.nanoTime();
            List<Future<Integer>> answers = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                int id = i;
                answers.add(clients.submit(() -> {
                    try (Socket s = new Socket()) {
                        s.connect(at, (int) EVENTUALLY.toMillis());
                        s.setSoTimeout((int) EVENTUALLY.toMillis());
                        new DataOutputStream(s.getOutputStream()).writeInt(id);
                        return new DataInputStream(s.getInputStream()).readInt();
                    }
                }));
            }
            for (int i = 0; i < CLIENTS; i++) {
                assertEquals(i + 1, answers.get(i).get(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS), "client " + i);
            }
            long servedIn = System.nanoTime() - t0;
            // every client is answered before its server counts it: wait for the last counts
            long deadline = System.nanoTime() + EVENTUALLY.toNanos();
            while (served.get() < CLIENTS && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(CLIENTS, served.get(), "clients served");
            assertEquals(List.of(), List.copyOf(errors), backend + ": errors in the accepting threads");
            VirtualThreadSupport.awaitAllParked(threads, inAccept, backend + ": threads back in accept()");
            assertEquals(0, gotNull.get(), "accept returned null before shutdown");

            long t1 = System.nanoTime();
            acceptor.shutdown();
            VirtualThreadSupport.joinAll(threads, backend + ": threads in accept() after shutdown");
            stopped = System.nanoTime() - t1;
            assertEquals(ACCEPTORS, gotNull.get(), backend + ": threads that saw accept() return null");
            assertTrue(acceptor.awaitTermination(EVENTUALLY), "awaitTermination");
            assertEquals(List.of(), List.copyOf(errors), backend + ": errors in the accepting threads");
            pinned = jfr.stopAndRead();
            System.out.printf("%s: %d virtual threads in accept() on %d carriers served %d clients in %d ms; shutdown"
                    + " ended all %d in %d ms; %d %s events%n", backend, ACCEPTORS, VirtualThreadSupport.carriers(),
                    served.get(), servedIn / 1_000_000, ACCEPTORS, stopped / 1_000_000, pinned.size(),
                    VirtualThreadSupport.PINNED);
        } finally {
            acceptor.shutdown();
            clients.shutdownNow();
            assertTrue(clients.awaitTermination(EVENTUALLY.toMillis(), TimeUnit.MILLISECONDS), "client threads");
        }
        VirtualThreadSupport.assertNoPinning(pinned, backend + ": virtual threads pinned in accept or serving");
        assertTrue(stopped < EVENTUALLY.toNanos(), "shutdown took " + stopped / 1_000_000 + " ms");
        Set<Integer> left = ContractBase.newFds(fdsBefore);
        assertEquals(Set.of(), left, backend + ": fds left open: " + VirtualThreadSupport.describeFds(left));
    }
}
