package io.polyplex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.net.NativeSockets;
import java.io.File;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's usage example does what the README says: it echoes on every backend that runs here,
 * survives a client that resets, and {@code queue.close()} from another thread ends the loop without
 * an exception; its {@code main} prints where it listens and exits on SIGTERM.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class EchoLoopTest {

    static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void echoesAndEndsWhenTheQueueIsClosedFromAnotherThread(String backend) throws Exception {
        EventQueue<NativeSelectableChannel> queue = EventQueues.open(backend, NativeSelectableChannel::getFD);
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 16)) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread loop = new Thread(() -> {
                try {
                    EchoLoop.serve(queue, server);
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "echo-loop");
            loop.start();

            try (Socket rude = new Socket(at.getAddress(), at.getPort())) {
                rude.setSoLinger(true, 0);        // closed with a reset: the loop must carry on
            }
            for (int i = 0; i < 3; i++) {
                try (Socket client = new Socket(at.getAddress(), at.getPort())) {
                    client.setSoTimeout(20_000);
                    byte[] msg = ("hello " + i).getBytes(StandardCharsets.US_ASCII);
                    client.getOutputStream().write(msg);
                    assertEquals("hello " + i, new String(readExactly(client.getInputStream(), msg.length), StandardCharsets.US_ASCII));
                }
            }
            queue.close();
            loop.join(TimeUnit.SECONDS.toMillis(20));
            assertFalse(loop.isAlive(), "queue.close() did not end the loop");
            assertEquals(null, failure.get(), "the loop ended with an exception");
        } finally {
            queue.close();
        }
    }

    /**
     * Run in an executor and stopped with {@code shutdownNow()}, the loop's thread is interrupted:
     * poll then returns at once (with the interrupt status kept, as java.nio's select does), so a
     * loop that does not check it spins. The README's loop checks it and ends.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void endsWhenItsThreadIsInterruptedInsteadOfSpinning(String backend) throws Exception {
        try (EventQueue<NativeSelectableChannel> queue = EventQueues.open(backend, NativeSelectableChannel::getFD);
             NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 16)) {
            java.util.concurrent.ExecutorService executor = java.util.concurrent.Executors.newSingleThreadExecutor();
            java.util.concurrent.Future<?> serving = executor.submit(() -> {
                EchoLoop.serve(queue, server);
                return null;
            });
            Thread.sleep(100); // serving, or about to: an interrupt before poll must end it too
            executor.shutdownNow();
            assertTrue(executor.awaitTermination(20, TimeUnit.SECONDS),
                    "the loop did not end when its thread was interrupted (it spins in poll)");
            serving.get(); // no exception: interrupting the loop is a normal way out
            assertTrue(queue.isOpen(), "the loop closed the caller's queue");
        }
    }

    @Test
    void mainPrintsWhereItListensAndStopsOnSigterm(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), EchoLoop.class.getName(), "0")
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            Pattern banner = Pattern.compile("echo on /127\\.0\\.0\\.1:(\\d+) \\((\\w+)\\)");
            Matcher m = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && (m == null || !m.find())) {
                assertTrue(child.isAlive(), () -> "exited: " + read(err));
                m = banner.matcher(read(out));
                Thread.sleep(20);
            }
            m = banner.matcher(read(out));
            assertTrue(m.find(), () -> "no banner: " + read(out) + read(err));
            try (Socket client = new Socket("127.0.0.1", Integer.parseInt(m.group(1)))) {
                client.setSoTimeout(20_000);
                client.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                assertEquals("ping", new String(readExactly(client.getInputStream(), 4), StandardCharsets.US_ASCII));
            }
            child.destroy();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "no exit after SIGTERM");
            assertEquals("", read(err), "stderr");
        } finally {
            child.destroyForcibly();
        }
    }

    private static byte[] readExactly(InputStream in, int n) throws java.io.IOException {
        byte[] b = new byte[n];
        int off = 0;
        while (off < n) {
            int r = in.read(b, off, n - off);
            if (r < 0) {
                throw new java.io.EOFException("after " + off + " bytes");
            }
            off += r;
        }
        return b;
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
