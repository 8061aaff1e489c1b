package io.polyplex.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's example program, end to end with java.net clients, on every backend that runs here:
 * it echoes, survives a client that resets mid-stream (the EPIPE bug of the README's introduction), and stops on request.
 */
@Timeout(120)
class EchoServerTest {

    static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void echoesSurvivesAnAbortedClientAndStops(String backend) throws Exception {
        EchoServer server = new EchoServer(new InetSocketAddress("127.0.0.1", 0), backend);
        Thread loop = new Thread(server);
        loop.start();
        try {
            InetSocketAddress at = server.localAddress();
            // A client that sends a lot and resets without reading the echo.
            try (Socket rude = new Socket(at.getAddress(), at.getPort())) {
                rude.getOutputStream().write(new byte[1 << 20]);
                rude.setSoLinger(true, 0);
            }
            // Everyone else is still served, including a payload bigger than the socket buffers.
            byte[] payload = new byte[300_000];
            Arrays.fill(payload, (byte) 'z');
            try (Socket polite = new Socket(at.getAddress(), at.getPort())) {
                OutputStream out = polite.getOutputStream();
                InputStream in = polite.getInputStream();
                Thread writer = new Thread(() -> {
                    try {
                        out.write(payload);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                writer.start();
                byte[] back = in.readNBytes(payload.length);
                writer.join();
                assertArrayEquals(payload, back);
            }
        } finally {
            server.stop();
            loop.join(30_000);
        }
        assertFalse(loop.isAlive(), "the event loop did not stop");
    }

    /** stop() closes every connection the loop owns: a connected client then reads the end of stream. */
    @ParameterizedTest
    @MethodSource("backends")
    void stopClosesEveryConnection(String backend) throws Exception {
        EchoServer server = new EchoServer(new InetSocketAddress("127.0.0.1", 0), backend);
        Thread loop = new Thread(server);
        loop.start();
        try (Socket client = new Socket(server.localAddress().getAddress(), server.localAddress().getPort())) {
            client.setSoTimeout(20_000);
            client.getOutputStream().write('x');
            assertEquals('x', client.getInputStream().read());
            server.stop();
            assertEquals(-1, client.getInputStream().read(), "the connection was left open");
        } finally {
            server.stop();
            loop.join(30_000);
        }
    }

    /**
     * As the HTTP demo, the echo server's main stops on SIGTERM (the README's Ctrl-C) with exit status
     * 0, after closing its connections and printing a summary.
     */
    @Test
    void sigtermClosesEverythingPrintsASummaryAndExitsZero(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process child = ChildJvm.builder(EchoServer.class, "--port", "0")
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            String banner = ChildJvm.awaitLine(child, out, "echo server on ");
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("on 127\\.0\\.0\\.1:(\\d+) ").matcher(banner);
            assertTrue(m.find(), banner);
            try (Socket client = new Socket("127.0.0.1", Integer.parseInt(m.group(1)))) {
                client.setSoTimeout(20_000);
                client.getOutputStream().write('x');
                assertEquals('x', client.getInputStream().read());
                child.destroy();                                  // SIGTERM
                assertTrue(child.waitFor(60, TimeUnit.SECONDS), "no exit after SIGTERM");
                String stderr = read(err);
                assertEquals(0, child.exitValue(), () -> "exit status after SIGTERM; stderr: " + stderr);
                assertEquals(-1, client.getInputStream().read(), "the connection was left open");
            }
            assertEquals("", read(err));
            assertTrue(read(out).contains("stopped: 1 connections, 0 aborted"), read(out));
        } finally {
            child.destroyForcibly();
        }
    }

    private static String read(Path p) throws java.io.IOException {
        return Files.exists(p) ? Files.readString(p) : "";
    }
}
