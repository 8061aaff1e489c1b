package io.polyplex.net;

import io.polyplex.ParkingPoller;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * Blocking read, write, accept and connect on native sockets that park instead of pinning: each
 * call first makes the non-blocking system call, and only if it would block parks the calling thread
 * in a {@link ParkingPoller} until the fd is ready. A virtual thread blocked here unmounts, so a
 * thread-per-connection server on virtual threads can use jnr-enxio and jnr-unixsocket channels, or
 * raw fds, without pinning its carriers.
 *
 * <p>The sockets must be non-blocking (every channel {@link NativeSockets} makes is; jnr-unixsocket's
 * need {@code configureBlocking(false)}): on a blocking fd the first system call would block in the
 * kernel. Every method takes a timeout, {@code null} for none; a call whose timeout expires throws
 * {@link SocketTimeoutException} (never before the timeout) and has consumed or sent nothing more
 * than it says. An interrupt ends the call with {@link java.io.InterruptedIOException} (the interrupt
 * status stays set); closing the socket through the poller ({@link ParkingPoller#close(java.nio.channels.Channel)})
 * ends it with {@link java.nio.channels.AsynchronousCloseException}; closing the poller ends it with
 * {@link io.polyplex.ClosedEventQueueException}.
 *
 * <p>Thread-safe and stateless but for its poller: any number of threads may use one instance. It
 * never closes the callers' sockets, except a socket of its own that {@link #connect} could not
 * connect.
 */
public final class BlockingSockets {

    private final ParkingPoller poller;

    /**
     * Blocking calls that park in {@code poller}.
     *
     * @param poller where threads park; it stays the caller's (close it when done)
     */
    public BlockingSockets(ParkingPoller poller) {
        this.poller = Objects.requireNonNull(poller, "poller");
    }

    /**
     * The poller the calls park in.
     *
     * @return the poller given at construction
     */
    public ParkingPoller poller() {
        return poller;
    }

    /**
     * Reads at least one byte into {@code dst}, parking until there is one.
     *
     * @param channel a non-blocking socket; it stays the caller's
     * @param dst where the bytes go, from its position to its limit; its position advances
     * @param timeout the longest wait, {@code null} for none
     * @return the number of bytes read (0 only if {@code dst} had no room), or -1 at end of stream
     * @throws SocketTimeoutException if nothing arrived within the timeout
     * @throws IOException a socket error (ECONNRESET, ...) naming the fd, or as described above
     */
    public int read(NativeSelectableChannel channel, ByteBuffer dst, Duration timeout) throws IOException {
        Objects.requireNonNull(channel, "channel");
        return read(channel.getFD(), channel, dst, timeout);
    }

    /**
     * {@link #read(NativeSelectableChannel, ByteBuffer, Duration)} on a raw fd.
     *
     * @param fd a non-blocking socket's fd; it stays the caller's
     * @param dst where the bytes go; its position advances
     * @param timeout the longest wait, {@code null} for none
     * @return the number of bytes read, or -1 at end of stream
     * @throws IOException as for a channel
     */
    public int read(int fd, ByteBuffer dst, Duration timeout) throws IOException {
        return read(fd, null, dst, timeout);
    }

    /**
     * Writes all of {@code src}, parking whenever the send buffer is full. Never raises SIGPIPE.
     *
     * @param channel a non-blocking socket; it stays the caller's
     * @param src the bytes from its position to its limit; its position advances as they are sent
     * @param timeout the longest time for the whole write, {@code null} for none
     * @throws SocketTimeoutException if not everything was sent within the timeout; the message says
     *     how much was, and {@code src}'s position shows it
     * @throws IOException EPIPE or ECONNRESET when the peer is gone (naming the fd), or as described
     *     above
     */
    public void write(NativeSelectableChannel channel, ByteBuffer src, Duration timeout) throws IOException {
        Objects.requireNonNull(channel, "channel");
        write(channel.getFD(), channel, src, timeout);
    }

    /**
     * {@link #write(NativeSelectableChannel, ByteBuffer, Duration)} on a raw fd.
     *
     * @param fd a non-blocking socket's fd; it stays the caller's
     * @param src the bytes to send; its position advances
     * @param timeout the longest time for the whole write, {@code null} for none
     * @throws IOException as for a channel
     */
    public void write(int fd, ByteBuffer src, Duration timeout) throws IOException {
        write(fd, null, src, timeout);
    }

    /**
     * Accepts one connection, parking until a client waits.
     *
     * @param listener a non-blocking listening socket (TCP or AF_UNIX); it stays the caller's
     * @param timeout the longest wait, {@code null} for none
     * @return the connection: non-blocking, close-on-exec, the caller's
     * @throws SocketTimeoutException if no client came within the timeout
     * @throws IOException an accept(2) error naming the fd (EMFILE, ...), or as described above
     */
    public NativeSocketChannel accept(NativeSelectableChannel listener, Duration timeout) throws IOException {
        Objects.requireNonNull(listener, "listener");
        long deadline = deadline(timeout);
        while (true) {
            NativeSocketChannel c = NativeSockets.accept(listener);
            if (c != null) {
                return c;
            }
            poller.awaitReadable(listener, left(deadline, timeout, "accept", listener.getFD()));
        }
    }

    /**
     * Connects a new TCP socket, parking (never blocking in connect(2)) until the connection is made
     * or refused.
     *
     * @param remote the address to connect to; an unresolved host is resolved first
     * @param timeout the longest wait, {@code null} for none
     * @return the connected, non-blocking channel; the caller's
     * @throws SocketTimeoutException if the connection was not made within the timeout (the socket
     *     is closed)
     * @throws IOException if it failed (ECONNREFUSED, ...), naming the address; nothing is left open
     */
    public NativeSocketChannel connect(InetSocketAddress remote, Duration timeout) throws IOException {
        long deadline = deadline(timeout);
        NativeSocketChannel ch = NativeSockets.startConnect(remote);
        boolean done = false;
        try {
            while (!NativeSockets.finishConnect(ch)) {
                poller.awaitWritable(ch, left(deadline, timeout, "connect to " + remote, ch.getFD()));
            }
            done = true;
            return ch;
        } finally {
            if (!done) {
                ch.close();
            }
        }
    }

    private int read(int fd, NativeSelectableChannel channel, ByteBuffer dst, Duration timeout) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (!dst.hasRemaining()) {
            return 0;
        }
        long deadline = deadline(timeout);
        while (true) {
            int n = NativeSockets.recv(fd, dst);
            if (n != 0) {
                return n;
            }
            Duration left = left(deadline, timeout, "read", fd);
            if (channel != null) {
                poller.awaitReadable(channel, left);
            } else {
                poller.awaitReadable(fd, left);
            }
        }
    }

    private void write(int fd, NativeSelectableChannel channel, ByteBuffer src, Duration timeout) throws IOException {
        Objects.requireNonNull(src, "src");
        long deadline = deadline(timeout);
        int total = src.remaining();
        while (src.hasRemaining()) {
            if (NativeSockets.send(fd, src) > 0) {
                continue;
            }
            Duration left;
            try {
                left = left(deadline, timeout, "write", fd);
            } catch (SocketTimeoutException e) {
                throw new SocketTimeoutException(e.getMessage() + "; " + (total - src.remaining()) + " of "
                        + total + " bytes written");
            }
            if (channel != null) {
                poller.awaitWritable(channel, left);
            } else {
                poller.awaitWritable(fd, left);
            }
        }
    }

    private static long deadline(Duration timeout) {
        if (timeout == null) {
            return 0;
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        }
        return System.nanoTime() + timeout.toNanos();
    }

    /** The time left before {@code deadline}; throws once there is none. */
    private static Duration left(long deadline, Duration timeout, String call, int fd) throws SocketTimeoutException {
        if (timeout == null) {
            return null;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException(call + "(fd=" + fd + "): timed out after " + timeout.toMillis() + " ms");
        }
        return Duration.ofNanos(left);
    }
}
