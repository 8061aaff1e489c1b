package io.polyplex.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * Native TCP and AF_UNIX sockets as jnr-enxio channels, ready for an {@link io.polyplex.EventQueue}:
 * opening TCP listeners and connections, accepting on any listening stream socket, and the socket
 * calls jnr-enxio's channels lack (send without SIGPIPE, a peek, abortive close, options).
 *
 * <p>Every socket this class opens is non-blocking and close-on-exec from the start (SOCK_NONBLOCK
 * and SOCK_CLOEXEC, accept4, where the OS has them; fcntl right after elsewhere), and never raises
 * SIGPIPE: {@link #send} uses MSG_NOSIGNAL, or SO_NOSIGPIPE is set at creation (macOS), so a write
 * to a vanished peer is an {@link IOException} (EPIPE, ECONNRESET). The returned channels own their
 * fds: closing the channel closes the fd. A method that fails closes whatever it opened.
 *
 * <p>Errors are {@link io.polyplex.NativeIOException}s naming the call, the address where there is
 * one, the fd and the errno, e.g. {@code bind(127.0.0.1:8080, fd=7): EADDRINUSE (Address already in
 * use)}. A transient errno (EINTR, EAGAIN) never reaches the caller: a call that does not wait is
 * made again, and where EAGAIN means something (nobody to accept, a full send buffer, no data yet)
 * the method's return value says so. Thread-safe: no shared mutable state.
 *
 * <p>Every call that takes a socket has two forms, a channel and a raw fd (from JNI, jnr-posix,
 * another library): pass whichever you hold.
 *
 * <h2>AF_UNIX</h2>
 * This class makes AF_UNIX sockets only as a connected pair ({@link #socketPair()}). Binding,
 * listening on and connecting to a path is jnr-unixsocket's job ({@code com.github.jnr:jnr-unixsocket},
 * the version Polyplex's BOM names), and its channels work with everything here and with the event
 * queues: they are jnr-enxio {@code NativeSelectableChannel}s.
 * <pre>{@code
 * static UnixServerSocketChannel listen(File path) throws IOException {
 *     UnixServerSocketChannel server = UnixServerSocketChannel.open();
 *     try {
 *         server.socket().bind(new UnixSocketAddress(path));
 *         server.configureBlocking(false);           // jnr-unixsocket's channels start blocking
 *         return server;                             // an EventQueue watches it like any listener
 *     } catch (IOException e) {
 *         server.close();
 *         throw e;
 *     }
 * }
 *
 * static Path acceptedOn(UnixServerSocketChannel server) throws IOException {
 *     try (NativeSocketChannel c = NativeSockets.accept(server)) {   // non-blocking, close-on-exec
 *         return c == null ? null                                    // nobody is waiting
 *                 : ((UnixDomainSocketAddress) NativeSockets.localAddress(c)).getPath();
 *     }
 * }
 * }</pre>
 */
public final class NativeSockets {

    private NativeSockets() {}

    /**
     * Opens a listening TCP socket (IPv4 or IPv6, by the address) with SO_REUSEADDR. Port 0 picks an
     * ephemeral port: ask {@link #localAddress(NativeSelectableChannel)} which.
     *
     * @param address the local address and port to bind; an unresolved host is resolved first
     * @param backlog passed to listen(2): how many pending connections the kernel may queue
     * @return the listening, non-blocking channel; it belongs to the caller and owns its fd
     * @throws IOException naming the address: unresolved host, EADDRINUSE, EACCES, ...
     */
    public static NativeServerSocketChannel listen(InetSocketAddress address, int backlog) throws IOException {
        return SocketCalls.SYSTEM.listen(address, backlog);
    }

    /**
     * Connects a new TCP socket to {@code remote}, blocking until the connection is made or
     * refused, and returns it non-blocking. A signal that interrupts connect(2) does not end the
     * attempt: the call waits on for its outcome.
     *
     * @param remote the address to connect to; an unresolved host is resolved first
     * @return the connected, non-blocking channel; it belongs to the caller and owns its fd
     * @throws java.net.ConnectException if the connection is refused (ECONNREFUSED) or times out in
     *     the kernel (ETIMEDOUT), as {@code java.net.Socket} says it; the message names the address,
     *     the fd and the errno, and the cause is the {@link io.polyplex.NativeIOException} that holds
     *     the errno ({@link java.net.NoRouteToHostException} likewise for EHOSTUNREACH and
     *     ENETUNREACH)
     * @throws IOException if the host cannot be resolved or the connection fails otherwise, naming
     *     the address; nothing is left open then
     */
    public static NativeSocketChannel connect(InetSocketAddress remote) throws IOException {
        return SocketCalls.SYSTEM.connect(remote);
    }

    /**
     * Starts connecting a new non-blocking TCP socket to {@code remote} and returns it at once,
     * connected already (loopback can be that quick) or with the connection under way, as java.nio's
     * {@code SocketChannel.connect} does in non-blocking mode. Watch it for WRITE, which is reported
     * once the attempt has ended either way (with ERROR if it failed), then ask {@link
     * #finishConnect} how it ended. The channel owns the fd; close it if the attempt is abandoned.
     *
     * @param remote the address to connect to; an unresolved host is resolved first
     * @return the non-blocking channel, connected or connecting; it belongs to the caller
     * @throws IOException if the attempt cannot even start, or fails at once (some systems refuse a
     *     connection to a closed loopback port right away: a {@link java.net.ConnectException}, as
     *     for {@link #connect}), naming the address and the fd; nothing is left open then
     */
    public static NativeSocketChannel startConnect(InetSocketAddress remote) throws IOException {
        return SocketCalls.SYSTEM.startConnect(remote);
    }

    /**
     * How a connection from {@link #startConnect} ended: true if it is established, false if it is
     * still under way; the attempt's error (ECONNREFUSED, ETIMEDOUT, ...) is thrown, naming the fd,
     * and read from the socket (SO_ERROR), so a second call no longer sees it.
     *
     * @param ch a channel from {@link #startConnect}; it is not closed, whatever the outcome
     * @return true if the connection is established, false if it is still under way
     * @throws IOException the attempt's error, or a failure to ask the socket (a {@link
     *     io.polyplex.NativeIOException} naming the fd)
     */
    public static boolean finishConnect(NativeSocketChannel ch) throws IOException {
        return SocketCalls.SYSTEM.finishConnect(ch);
    }

    /**
     * Accepts one pending connection, non-blocking and close-on-exec; null when none is waiting
     * (EAGAIN). EINTR and ECONNABORTED (a client that left the backlog) are retried; anything else
     * (EMFILE, ENFILE, ...) throws, naming the listening fd. Any listening stream socket will do,
     * a jnr-unixsocket {@code UnixServerSocketChannel} as well as a TCP listener; the connection is
     * returned as a jnr-enxio channel over the accepted fd, whatever its family.
     *
     * @param server a listening channel; it stays the caller's
     * @return the accepted channel, which belongs to the caller and owns its fd, or {@code null}
     * @throws IOException if accept(2) fails other than with EAGAIN, EINTR or ECONNABORTED, or
     *     the new socket cannot be made non-blocking and close-on-exec (it is closed then)
     */
    public static NativeSocketChannel accept(NativeSelectableChannel server) throws IOException {
        return SocketCalls.SYSTEM.accept(server);
    }

    /**
     * A connected AF_UNIX stream pair, both ends non-blocking and close-on-exec.
     *
     * @return a new two-element array with the two ends; both belong to the caller
     * @throws IOException if socketpair(2) fails (EMFILE, ...) or an end cannot be prepared
     */
    public static NativeSocketChannel[] socketPair() throws IOException {
        return SocketCalls.SYSTEM.socketPair();
    }

    /**
     * The address a socket is bound to (getsockname), as java.nio's {@code getLocalAddress} gives
     * it: an {@link InetSocketAddress} for TCP (cast to it to read the port), a {@link
     * java.net.UnixDomainSocketAddress} for AF_UNIX (its path; the empty path for an unnamed socket
     * such as either end of {@link #socketPair()}).
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @return its local address
     * @throws IOException if getsockname fails (naming the fd), or the family is neither IP nor
     *     AF_UNIX
     */
    public static SocketAddress localAddress(int fd) throws IOException {
        return SocketCalls.SYSTEM.address(fd, false);
    }

    /**
     * {@link #localAddress(int)} of a channel.
     *
     * @param ch a socket channel; it stays the caller's
     * @return its local address
     * @throws IOException as for an fd
     */
    public static SocketAddress localAddress(NativeSelectableChannel ch) throws IOException {
        return localAddress(ch.getFD());
    }

    /**
     * The address of a connected socket's peer (getpeername), in the same forms as {@link
     * #localAddress(int)}.
     *
     * @param fd a connected socket's file descriptor; it stays the caller's
     * @return its peer's address
     * @throws IOException if getpeername fails, naming the fd (ENOTCONN while not connected)
     */
    public static SocketAddress peerAddress(int fd) throws IOException {
        return SocketCalls.SYSTEM.address(fd, true);
    }

    /**
     * {@link #peerAddress(int)} of a channel.
     *
     * @param ch a connected socket channel; it stays the caller's
     * @return its peer's address
     * @throws IOException as for an fd
     */
    public static SocketAddress peerAddress(NativeSelectableChannel ch) throws IOException {
        return peerAddress(ch.getFD());
    }

    /**
     * Sets SO_SNDBUF (the kernel may round or double it).
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @param bytes the size asked for
     * @throws IOException if setsockopt fails, naming the fd
     */
    public static void setSendBufferSize(int fd, int bytes) throws IOException {
        SocketCalls.SYSTEM.setSendBufferSize(fd, bytes);
    }

    /**
     * {@link #setSendBufferSize(int, int)} on a channel.
     *
     * @param ch a socket channel; it stays the caller's
     * @param bytes the size asked for
     * @throws IOException as for an fd
     */
    public static void setSendBufferSize(NativeSelectableChannel ch, int bytes) throws IOException {
        setSendBufferSize(ch.getFD(), bytes);
    }

    /**
     * Sets SO_RCVBUF (the kernel may round or double it).
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @param bytes the size asked for
     * @throws IOException if setsockopt fails, naming the fd
     */
    public static void setReceiveBufferSize(int fd, int bytes) throws IOException {
        SocketCalls.SYSTEM.setReceiveBufferSize(fd, bytes);
    }

    /**
     * {@link #setReceiveBufferSize(int, int)} on a channel.
     *
     * @param ch a socket channel; it stays the caller's
     * @param bytes the size asked for
     * @throws IOException as for an fd
     */
    public static void setReceiveBufferSize(NativeSelectableChannel ch, int bytes) throws IOException {
        setReceiveBufferSize(ch.getFD(), bytes);
    }

    /**
     * Turns TCP_NODELAY on or off.
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @param on true to send small segments at once (Nagle's algorithm off)
     * @throws IOException if setsockopt fails, naming the fd
     */
    public static void setTcpNoDelay(int fd, boolean on) throws IOException {
        SocketCalls.SYSTEM.setTcpNoDelay(fd, on);
    }

    /**
     * {@link #setTcpNoDelay(int, boolean)} on a channel.
     *
     * @param ch a TCP socket channel; it stays the caller's
     * @param on true to send small segments at once
     * @throws IOException as for an fd
     */
    public static void setTcpNoDelay(NativeSelectableChannel ch, boolean on) throws IOException {
        setTcpNoDelay(ch.getFD(), on);
    }

    /**
     * Closes {@code ch} abortively: SO_LINGER {on, 0 s} then close, so the peer gets a RST instead
     * of a FIN (its next read or write fails with ECONNRESET).
     *
     * @param ch the connected channel to close
     * @throws IOException if SO_LINGER cannot be set (the channel is then still open) or the close
     *     fails
     */
    public static void abort(NativeSocketChannel ch) throws IOException {
        SocketCalls.SYSTEM.abort(ch);
    }

    /**
     * Shuts down the write side: the peer reads end of stream after the data already sent. The fd
     * stays open and readable.
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @throws IOException if shutdown(2) fails, naming the fd (e.g. ENOTCONN)
     */
    public static void shutdownOutput(int fd) throws IOException {
        SocketCalls.SYSTEM.shutdownOutput(fd);
    }

    /**
     * {@link #shutdownOutput(int)} on a channel.
     *
     * @param ch a connected socket channel; it stays open
     * @throws IOException as for an fd
     */
    public static void shutdownOutput(NativeSelectableChannel ch) throws IOException {
        shutdownOutput(ch.getFD());
    }

    /**
     * Sends from {@code src} without ever raising SIGPIPE and without blocking, even on a socket in
     * blocking mode (MSG_DONTWAIT); advances its position. A direct buffer's memory is passed to the
     * kernel in place; a heap buffer's bytes are copied through a small pool of direct buffers, at
     * most 128 KiB per call (a short send then), as the JDK's channels do: never the whole buffer.
     * No allocation in steady state.
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @param src the bytes from its position to its limit: direct, heap, sliced or read-only
     * @return bytes sent, 0 if the send buffer is full (EAGAIN)
     * @throws IOException EPIPE or ECONNRESET when the peer is gone, naming the fd
     */
    public static int send(int fd, ByteBuffer src) throws IOException {
        return SocketCalls.SYSTEM.send(fd, src);
    }

    /**
     * {@link #send(int, ByteBuffer)} on a channel.
     *
     * @param ch a connected socket channel; it stays the caller's
     * @param src the bytes from its position to its limit
     * @return bytes sent, 0 if the send buffer is full
     * @throws IOException as for an fd
     */
    public static int send(NativeSelectableChannel ch, ByteBuffer src) throws IOException {
        return send(ch.getFD(), src);
    }

    /**
     * Receives into {@code dst} from its position without blocking, even on a socket in blocking
     * mode (MSG_DONTWAIT); advances its position. Only the bytes received change, as with
     * java.nio: a direct buffer's memory is passed to the kernel in place; a heap buffer's bytes
     * come through a small pool of direct buffers, at most 128 KiB per call, and only those
     * received are copied in. No allocation in steady state.
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @param dst where the bytes go, from its position up to its limit: direct, heap or sliced
     * @return bytes received, 0 if nothing is there yet (EAGAIN) or {@code dst} has no room, -1 at
     *     end of stream
     * @throws IllegalArgumentException if {@code dst} is read-only
     * @throws IOException ECONNRESET and other socket errors, naming the fd
     */
    public static int recv(int fd, ByteBuffer dst) throws IOException {
        return SocketCalls.SYSTEM.recv(fd, dst);
    }

    /**
     * {@link #recv(int, ByteBuffer)} on a channel.
     *
     * @param ch a socket channel; it stays the caller's
     * @param dst where the bytes go, from its position up to its limit
     * @return bytes received, 0 if nothing is there yet, -1 at end of stream
     * @throws IOException as for an fd
     */
    public static int recv(NativeSelectableChannel ch, ByteBuffer dst) throws IOException {
        return recv(ch.getFD(), dst);
    }

    /**
     * Looks at the socket without consuming anything: recv(1 byte, MSG_PEEK|MSG_DONTWAIT).
     *
     * @param fd a socket's file descriptor; it stays the caller's
     * @return 1 if data is waiting, 0 if the peer closed (end of stream), -1 if nothing is there
     *     yet
     * @throws IOException if the socket has an error (ECONNRESET, ...)
     */
    public static int peek(int fd) throws IOException {
        return SocketCalls.SYSTEM.peek(fd);
    }

    /**
     * {@link #peek(int)} on a channel.
     *
     * @param ch a socket channel; it stays the caller's
     * @return 1 if data is waiting, 0 if the peer closed, -1 if nothing is there yet
     * @throws IOException as for an fd
     */
    public static int peek(NativeSelectableChannel ch) throws IOException {
        return peek(ch.getFD());
    }
}
