package io.polyplex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import io.polyplex.ParkingPoller;
import io.polyplex.net.NativeSockets;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import jnr.enxio.channels.NativeServerSocketChannel;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's thread-per-connection example echoes for several clients at once on every backend
 * here (on virtual threads where the JDK has them), and closing the poller ends its accept loop.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ThreadPerConnectionEchoTest {

    static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void echoesForManyClientsAndStopsWhenThePollerCloses(String backend) throws Exception {
        ExecutorService threads = ThreadPerConnectionEcho.virtualThreadsIfAny();
        ParkingPoller poller = ParkingPoller.open(backend, 1);
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 64)) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread acceptLoop = new Thread(() -> {
                try {
                    ThreadPerConnectionEcho.serve(server, poller, threads);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            acceptLoop.start();
            Socket[] clients = new Socket[16];
            for (int i = 0; i < clients.length; i++) {
                clients[i] = new Socket(at.getAddress(), at.getPort());
                clients[i].setSoTimeout(20_000);
            }
            for (int i = clients.length - 1; i >= 0; i--) {
                byte[] msg = ("client " + i).getBytes(StandardCharsets.US_ASCII);
                clients[i].getOutputStream().write(msg);
                InputStream in = clients[i].getInputStream();
                byte[] back = in.readNBytes(msg.length);
                assertEquals("client " + i, new String(back, StandardCharsets.US_ASCII));
            }
            for (Socket c : clients) {
                c.close();
            }
            poller.close();
            acceptLoop.join(TimeUnit.SECONDS.toMillis(20));
            assertFalse(acceptLoop.isAlive(), "closing the poller did not end the accept loop");
            assertEquals(null, failure.get());
        } finally {
            poller.close();
            threads.shutdownNow();
        }
    }
}
