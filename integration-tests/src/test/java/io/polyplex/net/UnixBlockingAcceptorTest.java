package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ContractBase;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link BlockingAcceptor} over an AF_UNIX listener held as a jnr-unixsocket
 * {@link UnixServerSocketChannel}, on every backend that runs here: clients are accepted and served,
 * a thread blocked in accept() is ended by shutdown(), the listener is closed after the last thread
 * leaves, and no fd is left open.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UnixBlockingAcceptorTest {

    /** One acceptor over a Unix listener first: what the JVM and jnr open on first use is no leak. */
    @BeforeAll
    static void warmUp(@TempDir Path dir) throws Exception {
        UnixServerSocketChannel listener = UnixServerSocketChannel.open();
        listener.socket().bind(new UnixSocketAddress(dir.resolve("warm.sock").toFile()));
        try (BlockingAcceptor acceptor = new BlockingAcceptor(listener, null)) {
            acceptor.shutdown();
        }
    }

    static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void acceptsServesAndShutsDownOverAUnixListener(String backend, @TempDir Path dir) throws Exception {
        Set<Integer> before = ContractBase.fdNumbers();
        UnixSocketAddress address = new UnixSocketAddress(dir.resolve("acceptor.sock").toFile());
        UnixServerSocketChannel listener = UnixServerSocketChannel.open();
        listener.socket().bind(address);
        int listenerFd = listener.getFD();
        try (BlockingAcceptor acceptor = new BlockingAcceptor(listener, backend)) {
            for (int i = 0; i < 3; i++) {
                try (UnixSocketChannel client = UnixSocketChannel.open(address);
                        NativeSocketChannel served = acceptor.accept()) {
                    assertNotNull(served, "accept() returned null before shutdown");
                    client.write(ByteBuffer.wrap(("ping " + i).getBytes(StandardCharsets.US_ASCII)));
                    ByteBuffer in = ByteBuffer.allocate(64);
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (in.position() < 6 && System.nanoTime() < deadline) {
                        if (served.read(in) == 0) {
                            Thread.onSpinWait();
                        }
                    }
                    assertEquals("ping " + i, new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII));
                }
            }

            // A thread blocked in accept() with nobody connecting is ended by shutdown().
            AtomicReference<Object> result = new AtomicReference<>("not returned");
            CountDownLatch entered = new CountDownLatch(1);
            Thread waiter = new Thread(() -> {
                try {
                    entered.countDown();
                    result.set(acceptor.accept());
                } catch (Throwable t) {
                    result.set(t);
                }
            }, "unix-accept-waiter");
            waiter.start();
            assertTrue(entered.await(20, TimeUnit.SECONDS));
            acceptor.shutdown();
            waiter.join(TimeUnit.SECONDS.toMillis(20));
            assertFalse(waiter.isAlive(), "shutdown() did not end a thread blocked in accept()");
            assertNull(result.get(), "accept() after shutdown: " + result.get());
            assertTrue(acceptor.awaitTermination(java.time.Duration.ofSeconds(20)));
        }
        assertFalse(listener.isOpen(), "the acceptor owns the listener and closes it");
        assertFalse(ContractBase.fdNumbers().contains(listenerFd) && !before.contains(listenerFd),
                "the listener's fd " + listenerFd + " is still open");
        assertEquals(Set.of(), ContractBase.newFds(before), "fds left open");
    }
}
