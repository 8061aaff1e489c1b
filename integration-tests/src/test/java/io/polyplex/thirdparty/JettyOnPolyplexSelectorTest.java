package io.polyplex.thirdparty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.conformance.ContractBase;
import io.polyplex.selector.PolyplexSelectorProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixsocket.server.UnixSocketConnector;
import org.eclipse.jetty.util.thread.Scheduler;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A program written by others on the Selector API, run on Polyplex's selector: Jetty 10's
 * {@code UnixSocketConnector} (jetty-unixsocket-server, from Maven Central), an HTTP/1.1 server over
 * jnr-unixsocket channels whose {@code ManagedSelector}s select, wake up, change interest sets from
 * other threads and close their selectors on stop. Only the line that opens its selector is changed:
 * its {@code SelectorManager.newSelector()}, which returns {@code
 * NativeSelectorProvider.getInstance().openSelector()} in Jetty, returns a Polyplex selector here;
 * everything else is Jetty's code as published.
 *
 * <p>The server has no handler, so every request is answered 404 by Jetty's own error path: a whole
 * HTTP exchange (request parsed, response written, keep-alive) through the selector. Then the server
 * is stopped, which must be prompt (jetty #1044 reported this connector stuck 30 s in jnr-enxio's
 * poll on stop), and leave no selector fd open.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "runs each Linux backend by name")
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SuppressWarnings("removal") // Jetty 10 deprecated its jnr connector for removal; it is the program under test
class JettyOnPolyplexSelectorTest {

    private static final long EVENTUALLY_MS = 20_000;
    private static final int CLIENTS = 8;
    private static final int REQUESTS = 25;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "poll", "select"})
    void jettyServesAndStopsOnPolyplexSelectors(String backend) throws Exception {
        Set<Integer> fdsBefore = ContractBase.fdNumbers();
        List<Selector> opened = new CopyOnWriteArrayList<>();
        Server server = new Server();
        UnixSocketConnector connector = new UnixSocketConnector(server, 2) {
            @Override
            protected SelectorManager newSelectorManager(Executor executor, Scheduler scheduler, int selectors) {
                return new UnixSocketConnectorManager(executor, scheduler, selectors) {
                    @Override
                    protected Selector newSelector() throws IOException {
                        // The one changed line; Jetty's: NativeSelectorProvider.getInstance().openSelector()
                        Selector s = PolyplexSelectorProvider.forBackend(backend).openSelector();
                        opened.add(s);
                        return s;
                    }
                };
            }
        };
        String path = dir.resolve("jetty.sock").toString();
        connector.setUnixSocket(path);
        server.addConnector(connector);
        server.start();
        try {
            assertEquals(2, opened.size(), "Jetty opened its two selectors through the changed line");
            for (Selector s : opened) {
                assertTrue(s.provider() instanceof PolyplexSelectorProvider, "a Polyplex selector: " + s);
            }
            UnixSocketAddress address = new UnixSocketAddress(path);

            // Clients that give up: one connects and leaves, one sends half a request and leaves.
            UnixSocketChannel.open(address).close();
            try (UnixSocketChannel half = UnixSocketChannel.open(address)) {
                half.write(ByteBuffer.wrap("GET /half HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII)));
            }

            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger answered = new AtomicInteger();
            Thread[] clients = new Thread[CLIENTS];
            for (int c = 0; c < CLIENTS; c++) {
                int id = c;
                clients[c] = new Thread(() -> {
                    try (UnixSocketChannel ch = UnixSocketChannel.open(address)) {
                        InputStream in = Channels.newInputStream(ch);
                        for (int r = 0; r < REQUESTS; r++) {
                            String target = "/client" + id + "/request" + r;
                            ch.write(ByteBuffer.wrap(("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
                                    .getBytes(StandardCharsets.US_ASCII)));
                            String head = readResponse(in);
                            if (!head.startsWith("HTTP/1.1 404 ")) {
                                throw new AssertionError("client " + id + ", request " + r + ": " + head);
                            }
                            answered.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "client-" + c);
                clients[c].setDaemon(true);
                clients[c].start();
            }
            for (Thread t : clients) {
                t.join(EVENTUALLY_MS);
                assertFalse(t.isAlive(), t.getName() + " still waiting for Jetty after " + EVENTUALLY_MS + " ms");
            }
            if (failure.get() != null) {
                throw new AssertionError("a client failed: " + failure.get(), failure.get());
            }
            assertEquals(CLIENTS * REQUESTS, answered.get(), "every request answered on its keep-alive connection");
        } finally {
            long start = System.nanoTime();
            server.stop();
            long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(stopMs < EVENTUALLY_MS, "Jetty's stop took " + stopMs + " ms");
        }
        for (Selector s : opened) {
            assertFalse(s.isOpen(), "Jetty closed its selector on stop: " + s);
        }
        // The selectors' own fds (epoll instances, wakeup pipes) must all be closed. Sockets are not
        // counted: the first Jetty server of a JVM leaves one socket open for good, whichever backend
        // runs first (seen on Linux, JDK 17), and Jetty's connections are Jetty's to close.
        StringBuilder left = new StringBuilder();
        for (int fd : ContractBase.newFds(fdsBefore)) {
            String target;
            try {
                target = java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            } catch (IOException e) {
                continue; // closed meanwhile
            }
            if (!target.startsWith("socket:")) {
                left.append(fd).append(" -> ").append(target).append("; ");
            }
        }
        assertEquals("", left.toString(), "selector fds left open after Jetty's stop");
    }

    /** Reads one response (head and Content-Length body) and returns its head. */
    private static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed in the response head: " + head);
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        int length = 0;
        for (String line : text.split("\r\n")) {
            if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        for (int i = 0; i < length; i++) {
            if (in.read() < 0) {
                throw new IOException("connection closed in the body");
            }
        }
        return text;
    }
}
