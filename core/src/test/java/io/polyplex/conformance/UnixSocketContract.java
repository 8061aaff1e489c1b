package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.Capability;
import io.polyplex.EventQueue;
import io.polyplex.SocketEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AF_UNIX sockets the way users already hold them: jnr-unixsocket's {@link UnixServerSocketChannel}
 * and {@link UnixSocketChannel}, which are {@link NativeSelectableChannel}s, on one queue. The server
 * and its clients share the queue; a peer's close is reported without consuming the data sent before
 * it, as on the socketpair and TCP sockets of {@link PeerClosedContract}.
 */
public abstract class UnixSocketContract extends ContractBase {

    @TempDir
    Path dir;

    private UnixServerSocketChannel listen(String name) throws IOException {
        UnixServerSocketChannel server = closeLater(UnixServerSocketChannel.open());
        server.socket().bind(new UnixSocketAddress(dir.resolve(name).toFile()));
        server.configureBlocking(false);
        assertTrue(Files.exists(dir.resolve(name)), "bind made the socket file");
        return server;
    }

    /** The server side of a fresh connection, non-blocking, and the (non-blocking) client. */
    private UnixSocketChannel[] connectedPair(UnixServerSocketChannel server, String name) throws IOException {
        UnixSocketChannel client = closeLater(UnixSocketChannel.open(new UnixSocketAddress(dir.resolve(name).toFile())));
        client.configureBlocking(false);
        UnixSocketChannel accepted = null;
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (accepted == null && System.nanoTime() < deadline) {
            accepted = server.accept();
            if (accepted == null) {
                Thread.onSpinWait();
            }
        }
        assertNotNull(accepted, "accept after connect");
        closeLater(accepted);
        accepted.configureBlocking(false);
        return new UnixSocketChannel[] {accepted, client};
    }

    private static void send(UnixSocketChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            assertTrue(ch.write(b) > 0, "send buffer unexpectedly full");
        }
    }

    /** What is there now: the text, "" if nothing, null at end of stream. */
    private static String receive(UnixSocketChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096);
        int n = ch.read(b);
        return n < 0 ? null : new String(b.array(), 0, n, StandardCharsets.US_ASCII);
    }

    @Test
    void aUnixServerAndItsClientsAreMultiplexedOnOneQueue() throws Exception {
        EventQueue<NativeSelectableChannel> q = openQueue(NativeSelectableChannel::getFD);
        UnixServerSocketChannel server = listen("echo.sock");
        q.subscribeRead(server);
        int clients = 8;
        Map<NativeSelectableChannel, String> expected = new HashMap<>();
        Map<NativeSelectableChannel, StringBuilder> answers = new HashMap<>();
        for (int i = 0; i < clients; i++) {
            UnixSocketChannel c = closeLater(UnixSocketChannel.open(new UnixSocketAddress(dir.resolve("echo.sock").toFile())));
            c.configureBlocking(false);
            send(c, "hello " + i + "\n");
            q.subscribeRead(c);
            expected.put(c, "HELLO " + i + "\n");
            answers.put(c, new StringBuilder());
        }
        List<UnixSocketChannel> accepted = new ArrayList<>();
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (!done(expected, answers) && System.nanoTime() < deadline) {
            for (SocketEvent<NativeSelectableChannel> e : q.poll(Duration.ofMillis(200))) {
                if (e.socket() == server) {
                    for (UnixSocketChannel c; (c = server.accept()) != null; ) {
                        closeLater(c);
                        c.configureBlocking(false);
                        q.subscribeRead(c);
                        accepted.add(c);
                    }
                } else if (answers.containsKey(e.socket())) {
                    String got = receive((UnixSocketChannel) e.socket());
                    assertNotNull(got, "the server closed a client early");
                    answers.get(e.socket()).append(got);
                } else {
                    // a served connection: echo what it sent, upper-cased
                    UnixSocketChannel c = (UnixSocketChannel) e.socket();
                    String got = receive(c);
                    if (got == null) {
                        q.remove(c);
                        c.close();
                    } else if (!got.isEmpty()) {
                        send(c, got.toUpperCase(java.util.Locale.ROOT));
                    }
                }
            }
        }
        for (Map.Entry<NativeSelectableChannel, String> e : expected.entrySet()) {
            assertEquals(e.getValue(), answers.get(e.getKey()).toString());
        }
        assertEquals(clients, accepted.size(), "every client accepted through the queue");
    }

    private static boolean done(Map<NativeSelectableChannel, String> expected, Map<NativeSelectableChannel, StringBuilder> answers) {
        for (Map.Entry<NativeSelectableChannel, String> e : expected.entrySet()) {
            if (!answers.get(e.getKey()).toString().equals(e.getValue())) {
                return false;
            }
        }
        return true;
    }

    @Test
    void aUnixPeerCloseIsReportedWithoutConsumingData() throws Exception {
        EventQueue<NativeSelectableChannel> q = openQueue(NativeSelectableChannel::getFD);
        UnixServerSocketChannel server = listen("close.sock");
        UnixSocketChannel[] p = connectedPair(server, "close.sock");
        UnixSocketChannel ours = p[0];
        q.subscribeRead(ours);
        send(p[1], "abc");
        p[1].close();
        if (q.capabilities().contains(Capability.KERNEL_PEER_CLOSED)) {
            int ops = awaitEvent(ours, SocketEvent.READ | SocketEvent.PEER_CLOSED, q);
            assertEquals(0, ops & SocketEvent.ERROR, "an orderly close is no error: " + SocketEvent.opsToString(ops));
            assertEquals("abc", receive(ours), "reporting the close consumed data");
            assertEquals(null, receive(ours));
        } else {
            int ops = awaitEvent(ours, SocketEvent.READ, q);
            assertEquals(0, ops & SocketEvent.PEER_CLOSED, "the probe cannot see past unread data");
            assertEquals("abc", receive(ours), "reporting readiness consumed data");
            ops = awaitEvent(ours, SocketEvent.READ | SocketEvent.PEER_CLOSED, q);
            assertEquals(0, ops & SocketEvent.ERROR, "an orderly close is no error: " + SocketEvent.opsToString(ops));
            assertEquals(null, receive(ours), "the probe consumed the end of stream");
        }
    }

    @Test
    void aUnixListenerIsReadableOnlyWhileAClientWaits() throws Exception {
        EventQueue<NativeSelectableChannel> q = openQueue(NativeSelectableChannel::getFD);
        UnixServerSocketChannel server = listen("backlog.sock");
        q.subscribeRead(server);
        for (SocketEvent<NativeSelectableChannel> e : q.poll(Duration.ZERO)) {
            assertTrue(e.socket() != server, "an empty backlog reported as readable");
        }
        UnixSocketChannel client = closeLater(UnixSocketChannel.open(new UnixSocketAddress(dir.resolve("backlog.sock").toFile())));
        assertTrue(client.isConnected());
        awaitEvent(server, SocketEvent.READ, q);
        assertNotNull(closeLater(server.accept()));
        for (SocketEvent<NativeSelectableChannel> e : q.poll(Duration.ZERO)) {
            assertTrue(e.socket() != server, "still readable after the only client was accepted");
        }
    }
}
