package io.polyplex.net;

import io.polyplex.ParkingPoller;
import io.polyplex.SocketEvent;
import io.polyplex.internal.FdUseTable;
import io.polyplex.internal.ParkingAccess;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.SelectableChannel;
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
 * <h2>Blocking mode</h2>
 * Reads and writes never block in the kernel, whatever mode the socket is in (they pass
 * MSG_DONTWAIT), so their timeouts hold even on a jnr-unixsocket channel left in its default
 * blocking mode. {@link #accept} needs a non-blocking listener (accept(2) has no such flag) and
 * throws {@link java.nio.channels.IllegalBlockingModeException} for a channel in blocking mode, as
 * java.nio does for a blocking channel where it cannot block.
 *
 * <h2>Timeouts, interrupts, closing</h2>
 * Every method takes a timeout, {@code null} for none, {@link Duration#ZERO} for "only what can be
 * done now", and one too large to add to the clock (such as {@code ChronoUnit.FOREVER}) for no
 * practical limit. A call whose timeout expires throws {@link SocketTimeoutException} (never before
 * the timeout, and a write checks it between its sends too, so one that keeps making a little
 * progress still ends on time) and has consumed or sent nothing more than it says. An interrupt ends
 * the call with {@link java.io.InterruptedIOException} (the interrupt status stays set); closing the
 * poller ends it, and every later call that has to wait, with {@link
 * io.polyplex.ClosedParkingPollerException}, an {@link java.nio.channels.AsynchronousCloseException}:
 * every way a call ends is an {@link IOException}, so one {@code catch (IOException e)} handles them
 * all, as with the JDK's blocking sockets.
 *
 * <p><b>Closing a socket while calls use it</b>, with {@link ParkingPoller#close(java.nio.channels.Channel)}
 * (or {@link ParkingPoller#closeFd} for a raw fd), is safe: a call parked on it ends with {@link
 * java.nio.channels.AsynchronousCloseException}; a call inside its system call finishes that one
 * call (the close waits for it: it never blocks) and then ends the same way; and the fd number is
 * released only after that, so no call made here ever reads or writes the socket that takes the
 * number next. A call made on a channel after it was closed, through the service or not, throws
 * {@link java.nio.channels.ClosedChannelException}. Closing the channel directly instead (its own
 * {@code close()}) releases the number at once, and a call that is just then between its wake-up
 * and its system call may reach the next socket on it: close through the poller.
 *
 * <h2>Buffers</h2>
 * Direct, heap, sliced and (to write from) read-only buffers all work alike: only the bytes moved
 * change, from the buffer's position; heap bytes pass through bounded direct memory (see {@link
 * NativeSockets#recv}). A read into a buffer with no room returns 0 at once; into a read-only
 * buffer it throws {@link IllegalArgumentException}.
 *
 * <h2>Errors</h2>
 * A socket error (ECONNRESET, ...) is an {@link IOException} naming the call and the fd, never an
 * end of stream; a refused connection is a {@link java.net.ConnectException} naming the address.
 * A raw fd that is not open is a {@link io.polyplex.NativeIOException} (EBADF); a negative fd number
 * or a negative timeout is a programming error: {@link IllegalArgumentException}.
 *
 * <p>Thread-safe and stateless but for its poller: any number of threads may use one instance. It
 * never closes the callers' sockets, except a socket of its own that {@link #connect} could not
 * connect.
 *
 * <h2>Example</h2>
 * A client that sends a request, half-closes and reads the whole answer, each step with a
 * timeout; on a virtual thread, every wait unmounts it. (The build compiles and runs this code:
 * {@code examples/src/main/java/io/polyplex/examples/ApiExamples.java}.)
 * <pre>{@code
 * static String exchange(BlockingSockets io, InetSocketAddress server, String request) throws IOException {
 *     Duration timeout = Duration.ofSeconds(10);
 *     try (NativeSocketChannel c = io.connect(server, timeout)) {        // parks while connecting
 *         io.write(c, StandardCharsets.UTF_8.encode(request), timeout);  // all of it, or an exception
 *         NativeSockets.shutdownOutput(c);
 *         ByteArrayOutputStream answer = new ByteArrayOutputStream();
 *         ByteBuffer buf = ByteBuffer.allocate(4096);
 *         while (io.read(c, buf.clear(), timeout) > 0) {                 // -1: the server closed
 *             answer.write(buf.array(), 0, buf.position());
 *         }
 *         return answer.toString(StandardCharsets.UTF_8);
 *     }
 * }
 * }</pre>
 */
public final class BlockingSockets {

    /** Timeouts of this many seconds or more (about 73 years) mean "no practical limit". */
    private static final long FOREVER_SECONDS = Long.MAX_VALUE / 4 / 1_000_000_000L;
    /** How a call counts its system calls as uses of the fd, so a close waits for them. */
    private static final ParkingAccess ACCESS = ParkingAccess.get();

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
     * @throws java.nio.channels.IllegalBlockingModeException if {@code listener} is a channel in
     *     blocking mode (accept(2) would then block in the kernel, where no timeout, interrupt or
     *     close could end it)
     * @throws SocketTimeoutException if no client came within the timeout
     * @throws IOException an accept(2) error naming the fd (EMFILE, ...), or as described above
     */
    public NativeSocketChannel accept(NativeSelectableChannel listener, Duration timeout) throws IOException {
        Objects.requireNonNull(listener, "listener");
        if (listener instanceof SelectableChannel && ((SelectableChannel) listener).isBlocking()) {
            throw new IllegalBlockingModeException();
        }
        int fd = listener.getFD();
        long deadline = deadline(timeout);
        long epoch = FdUseTable.ANY_EPOCH;
        while (true) {
            epoch = ACCESS.enter(poller, fd, listener, epoch, epoch != FdUseTable.ANY_EPOCH);
            NativeSocketChannel c;
            try {
                c = NativeSockets.accept(listener);
            } finally {
                ACCESS.exit(poller, fd);
            }
            if (c != null) {
                return c;
            }
            await(fd, listener, SocketEvent.READ, left(deadline, timeout, "accept", fd), epoch);
        }
    }

    /**
     * Connects a new TCP socket, parking (never blocking in connect(2)) until the connection is made
     * or refused.
     *
     * @param remote the address to connect to; an unresolved host is resolved first
     * @param timeout the longest wait, {@code null} for none
     * @return the connected, non-blocking channel; the caller's
     * @throws java.net.ConnectException if the connection was refused (ECONNREFUSED) or timed out
     *     in the kernel (ETIMEDOUT), naming the address, the fd and the errno; its cause is the
     *     {@link io.polyplex.NativeIOException} with the errno
     * @throws SocketTimeoutException if the connection was not made within the timeout (the socket
     *     is closed)
     * @throws IOException if it failed otherwise (EHOSTUNREACH, ...), naming the address; nothing is
     *     left open
     */
    public NativeSocketChannel connect(InetSocketAddress remote, Duration timeout) throws IOException {
        long deadline = deadline(timeout);
        NativeSocketChannel ch = NativeSockets.startConnect(remote);
        boolean done = false;
        try {
            while (!finishConnect(ch, remote)) {
                await(ch.getFD(), ch, SocketEvent.WRITE, left(deadline, timeout, "connect to " + remote, ch.getFD()),
                        FdUseTable.ANY_EPOCH);
            }
            done = true;
            return ch;
        } finally {
            if (!done) {
                ch.close();
            }
        }
    }

    /** {@link NativeSockets#finishConnect}, with the address in its error, as JDK users expect. */
    private static boolean finishConnect(NativeSocketChannel ch, InetSocketAddress remote) throws IOException {
        try {
            return NativeSockets.finishConnect(ch);
        } catch (io.polyplex.NativeIOException e) {
            throw SocketCalls.connectFailure(remote, e);
        }
    }

    private int read(int fd, NativeSelectableChannel channel, ByteBuffer dst, Duration timeout) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read-only buffer");
        }
        long deadline = deadline(timeout);
        long epoch = FdUseTable.ANY_EPOCH;
        int ready = 0;
        while (true) {
            epoch = ACCESS.enter(poller, fd, channel, epoch, epoch != FdUseTable.ANY_EPOCH);
            int n;
            try {
                if (!dst.hasRemaining()) {
                    return 0; // as java.nio: no room is no read, and no wait
                }
                n = NativeSockets.recv(fd, dst);
            } finally {
                ACCESS.exit(poller, fd);
            }
            if (n > 0) {
                return n;
            }
            if (n < 0) {
                if ((ready & SocketEvent.ERROR) != 0) {
                    // The wait said the socket was in error, and now it reads as a clean end of
                    // stream: a call between the two (on poll and select, the peer-closed probe
                    // racing the error's arrival) read the error and cleared it. It is no clean end.
                    throw new IOException("recv(fd=" + fd + "): the connection failed (the socket reported an"
                            + " error, which another call read before this one)");
                }
                return -1;
            }
            ready = await(fd, channel, SocketEvent.READ, left(deadline, timeout, "read", fd), epoch);
        }
    }

    private void write(int fd, NativeSelectableChannel channel, ByteBuffer src, Duration timeout) throws IOException {
        Objects.requireNonNull(src, "src");
        long deadline = deadline(timeout);
        int total = src.remaining();
        long epoch = FdUseTable.ANY_EPOCH;
        while (true) {
            epoch = ACCESS.enter(poller, fd, channel, epoch, epoch != FdUseTable.ANY_EPOCH);
            int sent;
            try {
                if (!src.hasRemaining()) {
                    return;
                }
                sent = NativeSockets.send(fd, src);
            } finally {
                ACCESS.exit(poller, fd);
            }
            Duration left;
            try {
                left = left(deadline, timeout, "write", fd);
            } catch (SocketTimeoutException e) {
                if (!src.hasRemaining()) {
                    return;
                }
                throw new SocketTimeoutException(e.getMessage() + "; " + (total - src.remaining()) + " of "
                        + total + " bytes written");
            }
            if (sent == 0) {
                await(fd, channel, SocketEvent.WRITE, left, epoch);
            }
        }
    }

    /**
     * Parks until {@code fd} is ready in {@code direction}, for a call under way since {@code epoch}:
     * a close meanwhile is an {@link AsynchronousCloseException}.
     */
    private int await(int fd, NativeSelectableChannel channel, int direction, Duration left, long epoch)
            throws IOException {
        try {
            return ACCESS.await(poller, fd, channel, direction, left, epoch);
        } catch (AsynchronousCloseException e) {
            throw e;
        } catch (ClosedChannelException e) {
            throw new AsynchronousCloseException(); // closed while this call was under way
        }
    }

    /** The deadline of a call with {@code timeout}: 0 for none, Long.MAX_VALUE past any clock. */
    private static long deadline(Duration timeout) {
        if (timeout == null) {
            return 0;
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        }
        if (timeout.getSeconds() >= FOREVER_SECONDS) {
            return Long.MAX_VALUE; // no practical limit: the sum would overflow
        }
        return System.nanoTime() + timeout.toNanos();
    }

    /** The time left before {@code deadline}; throws once there is none. */
    private static Duration left(long deadline, Duration timeout, String call, int fd) throws SocketTimeoutException {
        if (timeout == null) {
            return null;
        }
        if (deadline == Long.MAX_VALUE) {
            return null;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException(call + "(fd=" + fd + "): timed out after " + timeout.toMillis() + " ms");
        }
        return Duration.ofNanos(left);
    }
}
