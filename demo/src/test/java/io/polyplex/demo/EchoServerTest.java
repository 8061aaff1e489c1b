package io.polyplex.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's example program, end to end with java.net clients, on every backend that runs here:
 * it echoes, survives a client that resets mid-stream (the EPIPE report), and stops on request.
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
}
