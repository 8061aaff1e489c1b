package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.NativeIOException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Native sockets on the real kernel over 127.0.0.1: flags, errors naming the address, RST, peek. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NativeSocketsTest {

    private static final POSIX POSIX = POSIXFactory.getNativePOSIX();

    private static void assertCloexecNonBlocking(java.nio.channels.spi.AbstractSelectableChannel ch, int fd) {
        assertEquals(1, POSIX.fcntl(fd, Fcntl.F_GETFD) & 1, "FD_CLOEXEC on fd " + fd);
        int nonblock = OpenFlags.O_NONBLOCK.intValue();
        assertEquals(nonblock, POSIX.fcntl(fd, Fcntl.F_GETFL) & nonblock, "O_NONBLOCK on fd " + fd);
        assertFalse(ch.isBlocking(), "the channel believes it blocks");
    }

    private static NativeSocketChannel acceptSoon(NativeServerSocketChannel server) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            NativeSocketChannel c = NativeSockets.accept(server);
            if (c != null) {
                return c;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("nothing to accept");
    }

    @Test
    void listenConnectAcceptExchangeBothWays() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8)) {
            assertCloexecNonBlocking(server, server.getFD());
            assertNull(NativeSockets.accept(server), "accept with nobody connecting");
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            assertTrue(at.getPort() > 0);
            try (NativeSocketChannel client = NativeSockets.connect(at);
                 NativeSocketChannel accepted = acceptSoon(server)) {
                assertCloexecNonBlocking(client, client.getFD());
                assertCloexecNonBlocking(accepted, accepted.getFD());
                NativeSockets.send(client.getFD(), ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
                NativeSockets.send(accepted.getFD(), ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)));
                assertEquals("ping", readSoon(accepted, 4));
                assertEquals("pong", readSoon(client, 4));
            }
        }
    }

    private static String readSoon(NativeSocketChannel ch, int n) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(n);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (b.hasRemaining() && System.nanoTime() < deadline) {
            if (ch.read(b) < 0) {
                break;
            }
            Thread.sleep(1);
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
    }

    @Test
    void ipv6LoopbackWorksWhereTheHostHasIt() throws Exception {
        NativeServerSocketChannel server;
        try {
            server = NativeSockets.listen(new InetSocketAddress("::1", 0), 8);
        } catch (NativeIOException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "no IPv6 loopback here: " + e.getMessage());
            return;
        }
        try (server) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            assertTrue(at.getAddress() instanceof java.net.Inet6Address, at.toString());
            try (NativeSocketChannel client = NativeSockets.connect(at);
                 NativeSocketChannel accepted = acceptSoon(server)) {
                NativeSockets.send(client.getFD(), ByteBuffer.wrap("v6".getBytes(StandardCharsets.US_ASCII)));
                assertEquals("v6", readSoon(accepted, 2));
            }
            NativeIOException inUse = assertThrows(NativeIOException.class, () -> NativeSockets.listen(at, 8));
            assertTrue(inUse.getMessage().contains(":0:1]:" + at.getPort()), inUse.getMessage());
        }
    }

    @SuppressWarnings("try") // closes the listener inside its try on purpose: the connect after it must be refused
    @Test
    void addressInUseAndRefusedNameTheAddress() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8)) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            NativeIOException inUse = assertThrows(NativeIOException.class, () -> NativeSockets.listen(at, 8));
            assertTrue(inUse.getMessage().contains("127.0.0.1:" + at.getPort()) && inUse.getMessage().contains("EADDRINUSE"),
                    inUse.getMessage());
            server.close();
            java.net.ConnectException refused = assertThrows(java.net.ConnectException.class, () -> NativeSockets.connect(at));
            assertTrue(refused.getMessage().contains("127.0.0.1:" + at.getPort())
                    && refused.getMessage().contains("ECONNREFUSED"), refused.getMessage());
            assertEquals("ECONNREFUSED", ((NativeIOException) refused.getCause()).errnoName());
        }
        IOException badHost = assertThrows(IOException.class,
                () -> NativeSockets.listen(InetSocketAddress.createUnresolved("no-such-host.invalid", 80), 8));
        assertTrue(badHost.getMessage().contains("no-such-host.invalid"), badHost.getMessage());
    }

    /**
     * A call that fails closes what it opened, and its message names the call, the address and the
     * socket's fd: bind of an address in use, connect refused, a non-blocking connect refused.
     */
    @SuppressWarnings("try") // closes the listener inside its try on purpose: the connect after it must be refused
    @Test
    void aFailedCallClosesWhatItOpenedAndNamesCallAddressAndFd() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8)) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            java.util.Set<Integer> before = io.polyplex.conformance.ContractBase.fdNumbers();
            NativeIOException inUse = assertThrows(NativeIOException.class, () -> NativeSockets.listen(at, 8));
            assertTrue(inUse.getMessage().matches("bind\\(127\\.0\\.0\\.1:" + at.getPort() + ", fd=\\d+\\): EADDRINUSE .*"),
                    inUse.getMessage());
            assertTrue(inUse.fd() >= 0);
            assertEquals(java.util.Set.of(), io.polyplex.conformance.ContractBase.newFds(before), "listen left its socket open after failing");
            server.close();
            java.net.ConnectException refused = assertThrows(java.net.ConnectException.class, () -> NativeSockets.connect(at));
            assertTrue(refused.getMessage().matches("connect\\(127\\.0\\.0\\.1:" + at.getPort() + ", fd=\\d+\\): ECONNREFUSED .*"),
                    refused.getMessage());
            assertTrue(((NativeIOException) refused.getCause()).fd() >= 0, "the cause names the fd");
            assertEquals(java.util.Set.of(), io.polyplex.conformance.ContractBase.newFds(before), "connect left its socket open after failing");
        }
    }

    /** peek, like recv, reports a reset as ECONNRESET, naming the fd. */
    @Test
    void peekReportsAReset() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
             NativeSocketChannel client = NativeSockets.connect(((InetSocketAddress) NativeSockets.localAddress(server.getFD())))) {
            NativeSockets.abort(acceptSoon(server));
            long deadline = System.nanoTime() + 20_000_000_000L;
            NativeIOException e = null;
            while (e == null && System.nanoTime() < deadline) {
                try {
                    assertEquals(-1, NativeSockets.peek(client.getFD()), "peek saw data or an end of stream, not a reset");
                    Thread.sleep(1);
                } catch (NativeIOException reset) {
                    e = reset;
                }
            }
            assertTrue(e != null, "no reset within 20 s");
            assertEquals("ECONNRESET", e.errnoName());
            assertTrue(e.getMessage().startsWith("recv(MSG_PEEK, fd=" + client.getFD() + "): ECONNRESET"), e.getMessage());
        }
    }

    /** abort resets: the peer's first read fails with ECONNRESET (a plain close would give end of stream). */
    @Test
    void abortResetsThePeer() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
             NativeSocketChannel client = NativeSockets.connect(((InetSocketAddress) NativeSockets.localAddress(server.getFD())))) {
            NativeSocketChannel accepted = acceptSoon(server);
            NativeSockets.abort(accepted);
            assertFalse(accepted.isOpen());
            ByteBuffer b = ByteBuffer.allocateDirect(64);
            long deadline = System.nanoTime() + 20_000_000_000L;
            NativeIOException e = null;
            while (e == null && System.nanoTime() < deadline) {
                try {
                    int n = NativeSockets.recv(client.getFD(), b);
                    assertTrue(n == 0, "the peer's first read saw " + (n < 0 ? "end of stream: a close, not a reset" : n + " bytes"));
                    Thread.sleep(1); // the RST is not there yet
                } catch (NativeIOException reset) {
                    e = reset;
                }
            }
            assertTrue(e != null, "no reset within 20 s");
            assertEquals("ECONNRESET", e.errnoName(), e.getMessage());
            assertTrue(e.getMessage().startsWith("recv(fd=" + client.getFD() + "): ECONNRESET"), e.getMessage());
        }
    }

    /**
     * A send to a vanished peer fails with EPIPE or ECONNRESET and raises no SIGPIPE: with SIGPIPE
     * blocked on this thread, nothing is pending afterwards. (The JVM ignores SIGPIPE itself, so
     * only a blocked signal shows whether one was raised.)
     */
    @Test
    void sendToAVanishedPeerRaisesNoSigpipe() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
             NativeSocketChannel client = NativeSockets.connect(((InetSocketAddress) NativeSockets.localAddress(server.getFD())))) {
            acceptSoon(server).close();
            java.util.concurrent.atomic.AtomicReference<IOException> failure = new java.util.concurrent.atomic.AtomicReference<>();
            boolean raised = io.polyplex.conformance.Signals.raisedWhileBlocked(io.polyplex.conformance.Signals.SIGPIPE, () -> {
                for (int i = 0; i < 1000 && failure.get() == null; i++) {
                    try {
                        NativeSockets.send(client.getFD(), ByteBuffer.allocate(1024));
                        Thread.sleep(1);
                    } catch (IOException e) {
                        failure.set(e);
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            });
            assertTrue(failure.get() != null, "sends to a closed peer kept succeeding");
            assertTrue(failure.get().getMessage().contains("EPIPE") || failure.get().getMessage().contains("ECONNRESET"),
                    failure.get().getMessage());
            assertFalse(raised, "send raised SIGPIPE");
        }
    }

    @Test
    void peekSeesDataWithoutConsumingItThenTheEndOfStream() throws Exception {
        NativeSocketChannel[] p = NativeSockets.socketPair();
        try {
            assertCloexecNonBlocking(p[0], p[0].getFD());
            assertEquals(-1, NativeSockets.peek(p[0].getFD()), "nothing there yet");
            p[1].write(ByteBuffer.wrap("abc".getBytes(StandardCharsets.US_ASCII)));
            NativeSockets.shutdownOutput(p[1].getFD());
            assertEquals(1, NativeSockets.peek(p[0].getFD()));
            assertEquals(1, NativeSockets.peek(p[0].getFD()), "peek consumed data");
            assertEquals("abc", readSoon(p[0], 3));
            assertEquals(0, NativeSockets.peek(p[0].getFD()), "end of stream after the data");
        } finally {
            p[0].close();
            p[1].close();
        }
    }
}
