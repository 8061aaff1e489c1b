package io.polyplex.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import io.polyplex.selector.PolyplexSelectorProvider;
import java.nio.ByteBuffer;
import java.nio.channels.Selector;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's Selector example echoes on every backend that runs here, a message much larger than
 * a socket buffer included (its OP_WRITE path), survives a client that leaves, and closing the
 * selector from another thread ends its loop without an exception.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SelectorEchoTest {

    @TempDir
    Path dir;

    static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void echoesAndEndsWhenTheSelectorIsClosedFromAnotherThread(String backend) throws Exception {
        Selector selector = PolyplexSelectorProvider.forBackend(backend).openSelector();
        UnixSocketAddress address = new UnixSocketAddress(dir.resolve("echo.sock").toFile());
        try (UnixServerSocketChannel server = UnixServerSocketChannel.open()) {
            server.socket().bind(address);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread loop = new Thread(() -> {
                try {
                    SelectorEcho.serve(selector, server);
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "selector-echo");
            loop.start();

            UnixSocketChannel.open(address).close();         // a client that leaves at once
            byte[] big = new byte[4 * 1024 * 1024];
            new Random(7).nextBytes(big);
            for (byte[] message : new byte[][] {"hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII), big}) {
                try (UnixSocketChannel client = UnixSocketChannel.open(address)) {
                    // The channel itself, not Channels' streams: those hold its blocking lock for a
                    // whole read, so a writer thread would wait for the reader for ever.
                    Thread writer = new Thread(() -> {
                        try {
                            ByteBuffer src = ByteBuffer.wrap(message);
                            while (src.hasRemaining()) {
                                client.write(src);
                            }
                        } catch (Exception e) {
                            failure.compareAndSet(null, e);
                        }
                    }, "writer");
                    writer.start();                              // the echo comes back while we send
                    ByteBuffer back = ByteBuffer.allocate(message.length);
                    while (back.hasRemaining() && client.read(back) >= 0) {
                        // until all of it came back
                    }
                    writer.join(20_000);
                    assertArrayEquals(message, back.array(), backend + ": the echo of " + message.length + " bytes");
                }
            }
            selector.close();
            loop.join(20_000);
            assertFalse(loop.isAlive(), "the loop ended when the selector was closed");
            assertTrue(failure.get() == null, () -> "the loop failed: " + failure.get());
        }
    }
}
