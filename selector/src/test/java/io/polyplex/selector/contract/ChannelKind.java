package io.polyplex.selector.contract;

import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;

/**
 * The two families of channel the selector is for: jnr-enxio's TCP channels (made by Polyplex's
 * {@code NativeSockets}) and jnr-unixsocket's AF_UNIX channels, each as a listener and as both ends
 * of a connection.
 */
public enum ChannelKind {
    /** jnr-enxio {@code NativeServerSocketChannel} and {@code NativeSocketChannel} over TCP on 127.0.0.1. */
    TCP,
    /** jnr-unixsocket {@code UnixServerSocketChannel} and {@code UnixSocketChannel}. */
    UNIX;

    /** A listener, non-blocking at the Java level (so it can be registered), and how to reach it. */
    public Listener listen(Path dir) throws IOException {
        if (this == TCP) {
            var server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 64);
            server.configureBlocking(false);
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            return new Listener(server, at, null);
        }
        Path file = Files.createTempFile(dir, "s", ".sock");
        Files.delete(file);
        UnixServerSocketChannel server = UnixServerSocketChannel.open();
        server.socket().bind(new UnixSocketAddress(file.toFile()));
        server.configureBlocking(false);
        return new Listener(server, null, new UnixSocketAddress(file.toFile()));
    }

    /** A listener of either kind. */
    public record Listener(AbstractSelectableChannel channel, InetSocketAddress tcp, UnixSocketAddress unix) {

        /** Connects a new client, blocking until it is connected, and returns it non-blocking. */
        public AbstractSelectableChannel connect() throws IOException {
            AbstractSelectableChannel c = tcp != null ? NativeSockets.connect(tcp) : UnixSocketChannel.open(unix);
            c.configureBlocking(false);
            return c;
        }

        /** Accepts one pending connection, non-blocking; null if none is waiting. */
        public AbstractSelectableChannel accept() throws IOException {
            if (tcp != null) {
                NativeSocketChannel c = NativeSockets.accept((jnr.enxio.channels.NativeSelectableChannel) channel);
                if (c != null) {
                    c.configureBlocking(false);
                }
                return c;
            }
            UnixSocketChannel c = ((UnixServerSocketChannel) channel).accept();
            if (c != null) {
                c.configureBlocking(false);
            }
            return c;
        }
    }

    /** Writes all of {@code s} to {@code ch} (which must have room). */
    public static void write(AbstractSelectableChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            if (((ByteChannel) ch).write(b) == 0) {
                throw new IOException("send buffer full");
            }
        }
    }

    /** Reads what is there now: the count, 0 if nothing, -1 at end of stream. */
    public static int readNow(AbstractSelectableChannel ch) throws IOException {
        return ((ByteChannel) ch).read(ByteBuffer.allocate(64 * 1024));
    }

    /** Fills {@code ch}'s send path (and the peer's receive buffer) until a write takes nothing. */
    public static long fill(AbstractSelectableChannel ch) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
        long total = 0;
        while (true) {
            chunk.clear();
            int n = ((ByteChannel) ch).write(chunk);
            if (n == 0) {
                return total;
            }
            total += n;
        }
    }
}
