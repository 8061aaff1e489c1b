package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.NativeIOException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Addresses as java.nio gives them ({@code SocketAddress}: an {@link InetSocketAddress} for TCP, a
 * {@link UnixDomainSocketAddress} for AF_UNIX), for a socket and its peer, through the fd and the
 * channel forms alike; and the sockaddr decoding with each OS's layout injected.
 */
@Timeout(60)
class NativeSocketsAddressTest {

    @Test
    void tcpLocalAndPeerAddressesInBothForms() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 4)) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server);
            assertEquals(at, NativeSockets.localAddress(server.getFD()));
            try (NativeSocketChannel client = NativeSockets.connect(at)) {
                NativeSocketChannel accepted = null;
                for (long end = System.nanoTime() + 20_000_000_000L; accepted == null && System.nanoTime() < end; ) {
                    accepted = NativeSockets.accept(server);
                }
                try (NativeSocketChannel served = accepted) {
                    assertEquals(at, NativeSockets.peerAddress(client));
                    assertEquals(NativeSockets.localAddress(client), NativeSockets.peerAddress(served.getFD()));
                    assertEquals(InetAddress.getByName("127.0.0.1"),
                            ((InetSocketAddress) NativeSockets.peerAddress(served)).getAddress());
                    // the channel forms of the other calls
                    NativeSockets.setTcpNoDelay(client, true);
                    NativeSockets.setSendBufferSize(client, 64 * 1024);
                    NativeSockets.setReceiveBufferSize(served, 64 * 1024);
                    assertEquals(3, NativeSockets.send(client, ByteBuffer.wrap("abc".getBytes(StandardCharsets.US_ASCII))));
                    for (long end = System.nanoTime() + 20_000_000_000L; NativeSockets.peek(served) != 1
                            && System.nanoTime() < end; ) {
                        Thread.onSpinWait();
                    }
                    ByteBuffer in = ByteBuffer.allocate(8);
                    assertEquals(3, NativeSockets.recv(served, in));
                    NativeSockets.shutdownOutput(client);
                    for (long end = System.nanoTime() + 20_000_000_000L; NativeSockets.peek(served) != 0
                            && System.nanoTime() < end; ) {
                        Thread.onSpinWait();
                    }
                    assertEquals(-1, NativeSockets.recv(served, in), "end of stream after shutdownOutput");
                }
            }
        }
    }

    @Test
    void anUnconnectedSocketHasNoPeer() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 4)) {
            NativeIOException e = assertThrows(NativeIOException.class, () -> NativeSockets.peerAddress(server));
            assertEquals("ENOTCONN", e.errnoName(), e.getMessage());
            assertTrue(e.getMessage().startsWith("getpeername(fd=" + server.getFD() + ")"), e.getMessage());
        }
    }

    @Test
    void unixAddressesArePaths(@TempDir Path dir) throws Exception {
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        try {
            assertEquals(UnixDomainSocketAddress.of(""), NativeSockets.localAddress(pair[0]), "an unnamed socket");
            assertEquals(UnixDomainSocketAddress.of(""), NativeSockets.peerAddress(pair[1]));
        } finally {
            pair[0].close();
            pair[1].close();
        }
        Path path = dir.resolve("s.sock");
        try (UnixServerSocketChannel server = UnixServerSocketChannel.open()) {
            server.socket().bind(new UnixSocketAddress(path.toFile()));
            assertEquals(UnixDomainSocketAddress.of(path), NativeSockets.localAddress(server.getFD()));
            try (UnixSocketChannel client = UnixSocketChannel.open(new UnixSocketAddress(path.toFile()))) {
                assertEquals(UnixDomainSocketAddress.of(path), NativeSockets.peerAddress(client.getFD()));
                server.configureBlocking(false);
                NativeSocketChannel accepted = null;
                for (long end = System.nanoTime() + 20_000_000_000L; accepted == null && System.nanoTime() < end; ) {
                    accepted = NativeSockets.accept(server);
                }
                try (NativeSocketChannel served = accepted) {
                    assertEquals(UnixDomainSocketAddress.of(path), NativeSockets.localAddress(served));
                    assertEquals(UnixDomainSocketAddress.of(""), NativeSockets.peerAddress(served), "the client is unnamed");
                }
            }
        } finally {
            Files.deleteIfExists(path);
        }
    }

    /** The sockaddr layouts, written as each OS's kernel writes them, decoded on Linux. */
    @Test
    void sockaddrsDecodeWithEachLayout() throws Exception {
        int afUnix = jnr.constants.platform.AddressFamily.AF_UNIX.intValue();
        byte[] name = "/tmp/a.sock".getBytes(StandardCharsets.US_ASCII);
        // Linux: sa_family_t (16 bits) at 0, sun_path at 2, length = 2 + strlen + 1.
        Pointer linux = Memory.allocateDirect(jnr.ffi.Runtime.getSystemRuntime(), 128, true);
        linux.putShort(0, (short) afUnix);
        linux.put(2, name, 0, name.length);
        assertEquals(UnixDomainSocketAddress.of("/tmp/a.sock"), SocketCalls.decode(linux, 2 + name.length + 1, false, "t"));
        // 4.4BSD (macOS, FreeBSD, OpenBSD): sun_len at 0, sun_family (8 bits) at 1, sun_path at 2.
        Pointer bsd = Memory.allocateDirect(jnr.ffi.Runtime.getSystemRuntime(), 128, true);
        bsd.putByte(0, (byte) (2 + name.length));
        bsd.putByte(1, (byte) afUnix);
        bsd.put(2, name, 0, name.length);
        assertEquals(UnixDomainSocketAddress.of("/tmp/a.sock"), SocketCalls.decode(bsd, 2 + name.length, true, "t"));
        // An unnamed socket: only the family.
        assertEquals(UnixDomainSocketAddress.of(""), SocketCalls.decode(bsd, 2, true, "t"));
        // A Linux abstract name: a NUL first, then the name, no terminator.
        Pointer abs = Memory.allocateDirect(jnr.ffi.Runtime.getSystemRuntime(), 128, true);
        abs.putShort(0, (short) afUnix);
        abs.put(3, "x1".getBytes(StandardCharsets.US_ASCII), 0, 2);
        assertEquals(UnixDomainSocketAddress.of("@x1"), SocketCalls.decode(abs, 5, false, "t"));
        // IPv4 with each layout: port 8080 at 2 (network order), address at 4.
        for (boolean hasLength : new boolean[] {false, true}) {
            Pointer v4 = Memory.allocateDirect(jnr.ffi.Runtime.getSystemRuntime(), 128, true);
            SocketCalls.encode(InetAddress.getByName("10.1.2.3"), 8080, v4, hasLength,
                    jnr.constants.platform.AddressFamily.AF_INET.intValue());
            SocketAddress a = SocketCalls.decode(v4, 16, hasLength, "t");
            assertEquals(new InetSocketAddress("10.1.2.3", 8080), a, hasLength ? "BSD" : "Linux");
        }
        Pointer other = Memory.allocateDirect(jnr.ffi.Runtime.getSystemRuntime(), 128, true);
        other.putShort(0, (short) 16); // AF_NETLINK on Linux: neither IP nor AF_UNIX
        IOException e = assertThrows(IOException.class, () -> SocketCalls.decode(other, 12, false, "getsockname(fd=3)"));
        assertTrue(e.getMessage().contains("getsockname(fd=3)") && e.getMessage().contains("family 16"), e.getMessage());
        assertInstanceOf(InetSocketAddress.class, SocketCalls.decode(linuxV6(), 28, false, "t"));
    }

    private static Pointer linuxV6() throws IOException {
        Pointer v6 = Memory.allocateDirect(jnr.ffi.Runtime.getSystemRuntime(), 128, true);
        SocketCalls.encode(InetAddress.getByName("::1"), 443, v6, false, jnr.constants.platform.AddressFamily.AF_INET6.intValue());
        return v6;
    }
}
