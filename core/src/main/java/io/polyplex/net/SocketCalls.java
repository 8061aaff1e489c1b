package io.polyplex.net;

import io.polyplex.internal.SocketLibrary;
import io.polyplex.internal.NativeErrors;
import io.polyplex.internal.OsConstants;
import java.io.IOException;
import io.polyplex.NativeIOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.function.IntSupplier;
import jnr.constants.platform.AddressFamily;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.constants.platform.Shutdown;
import jnr.constants.platform.Sock;
import jnr.constants.platform.SocketLevel;
import jnr.constants.platform.SocketOption;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * The socket calls behind {@link NativeSockets}, made through one {@link SocketLibrary}: the
 * system's, or in a test a wrapper that injects faults. Every promise of {@link NativeSockets}
 * (non-blocking and close-on-exec from the start, no SIGPIPE, a failed method closes what it
 * opened, errors name the call, the address, the fd and the errno) is kept here.
 *
 * <p>A transient errno (EINTR, EAGAIN) from a call that does not wait is made again, at most
 * {@link NativeErrors#TRANSIENT_RETRIES} times, so it never reaches the caller; where EAGAIN has a
 * meaning of its own (accept: nobody waiting; send: buffer full; recv and peek: no data yet) that
 * meaning is what the caller gets. Thread-safe: no mutable state.
 */
final class SocketCalls {

    /** The system's socket calls: what {@link NativeSockets} uses. */
    static final SocketCalls SYSTEM = new SocketCalls(SocketLibrary.INSTANCE);

    private final SocketLibrary lib;

    SocketCalls(SocketLibrary lib) {
        this.lib = lib;
    }


    /** Per-OS numbers jnr-constants does not carry for every OS: see {@link OsConstants}. */
    private static final OsConstants OS = OsConstants.CURRENT;
    private static final boolean SOCKADDR_HAS_LEN = OS.sockaddrHasLength();
    private static final int SOCK_NONBLOCK = OS.sockNonblock();
    private static final int SOCK_CLOEXEC = OS.sockCloexec();
    private static final boolean HAS_ACCEPT4 = OS.hasAccept4();
    private static final int MSG_NOSIGNAL = OS.msgNosignal();
    private static final int MSG_PEEK = OS.msgPeek();
    private static final int MSG_DONTWAIT = OS.msgDontwait();
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_NODELAY = 1;
    private static final int FD_CLOEXEC = 1;
    private static final int POLLOUT = 0x4; // Linux, macOS and the BSDs (<poll.h>)
    private static final int SOCKADDR_MAX = 128;

    /**
     * Opens a listening TCP socket (IPv4 or IPv6, by the address) with SO_REUSEADDR. Port 0 picks an
     * ephemeral port: ask {@link #localAddress(int)} which.
     *
     * @throws IOException naming the address: unresolved host, EADDRINUSE, EACCES, ...
     */
    NativeServerSocketChannel listen(InetSocketAddress address, int backlog) throws IOException {
        Objects.requireNonNull(address, "address");
        InetAddress ip = resolve(address);
        int fd = openSocket(family(ip), Sock.SOCK_STREAM.intValue(), "socket(" + text(address));
        try {
            setIntOption(fd, SocketLevel.SOL_SOCKET.intValue(), SocketOption.SO_REUSEADDR.intValue(), 1,
                    "setsockopt(SO_REUSEADDR");
            Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, SOCKADDR_MAX, true);
            int len = encode(ip, address.getPort(), sa);
            if (retrying(() -> lib.bind(fd, sa, len)) < 0) {
                throw error("bind(" + text(address), fd);
            }
            if (retrying(() -> lib.listen(fd, backlog)) < 0) {
                throw error("listen(" + text(address), fd);
            }
            return nonBlocking(new NativeServerSocketChannel(fd));
        } catch (IOException | RuntimeException e) {
            lib.close(fd);
            throw e;
        }
    }

    /**
     * Connects a new TCP socket to {@code remote}, blocking until the connection is made or refused,
     * and returns it non-blocking.
     */
    NativeSocketChannel connect(InetSocketAddress remote) throws IOException {
        Objects.requireNonNull(remote, "remote");
        InetAddress ip = resolve(remote);
        int fd = openSocket(family(ip), Sock.SOCK_STREAM.intValue(), "socket(" + text(remote));
        try {
            setBlocking(fd, true);
            Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, SOCKADDR_MAX, true);
            int len = encode(ip, remote.getPort(), sa);
            try {
                connectBlocking(lib, fd, sa, len, "connect(" + text(remote));
            } catch (NativeIOException e) {
                throw refusal(e.errno()) ? connectFailure(remote, e) : e;
            }
            setBlocking(fd, false);
            return nonBlocking(new NativeSocketChannel(fd));
        } catch (IOException | RuntimeException e) {
            lib.close(fd);
            throw e;
        }
    }

    /**
     * connect(2) on a blocking socket, through a signal. POSIX connect(2): when a blocking connect is
     * interrupted "the connection request shall not be aborted, and the connection shall be
     * established asynchronously", and the socket then polls writable. Calling connect(2) again
     * is not the way to wait: FreeBSD's {@code kern_connectat} answers EALREADY while the handshake
     * runs and EISCONN once it is done, XNU's {@code connectit} EISCONN even while it runs (EALREADY
     * only for a non-blocking socket), OpenBSD's {@code sys_connect} as FreeBSD; only Linux waits
     * again.
     * So after EINTR this waits for writability with poll(2) and takes the outcome from SO_ERROR.
     */
    static void connectBlocking(SocketLibrary lib, int fd, Pointer sa, int len, String call) throws IOException {
        int errno;
        for (int tries = 1; ; tries++) {
            if (lib.connect(fd, sa, len) == 0) {
                return;
            }
            errno = SocketLibrary.RUNTIME.getLastError();
            // EAGAIN: no attempt was started (Linux: no free local port; a full AF_UNIX backlog):
            // try a few times, as for any call that does not wait.
            if (!NativeErrors.wouldBlock(errno) || tries >= NativeErrors.TRANSIENT_RETRIES) {
                break;
            }
        }
        if (errno != NativeErrors.EINTR) {
            throw NativeErrors.exception(call, fd, errno);
        }
        Pointer pollfd = Memory.allocateDirect(SocketLibrary.RUNTIME, 8, true);
        pollfd.putInt(0, fd);
        pollfd.putShort(4, (short) POLLOUT);
        for (int again = 1; lib.poll(pollfd, 1, -1) < 0; ) {
            int e = SocketLibrary.RUNTIME.getLastError();
            // EINTR: a signal, wait on; EAGAIN: the kernel could not allocate for a moment.
            if (e != NativeErrors.EINTR && !(NativeErrors.wouldBlock(e) && again++ < NativeErrors.TRANSIENT_RETRIES)) {
                throw NativeErrors.exception(call + " interrupted, then poll(POLLOUT", fd, e);
            }
        }
        int error = socketError(lib, fd, call + " interrupted, then getsockopt(SO_ERROR");
        if (error != 0) {
            throw NativeErrors.exception(call, fd, error);
        }
    }

    /**
     * Makes a call that does not wait again while it fails with a transient errno (EINTR, EAGAIN),
     * at most {@link NativeErrors#TRANSIENT_RETRIES} times; returns its last result, errno as that
     * try left it. For setup calls only: the lambda is not for a hot path.
     */
    static int retrying(IntSupplier call) {
        int r = call.getAsInt();
        for (int tries = 1; r < 0 && tries < NativeErrors.TRANSIENT_RETRIES
                && NativeErrors.isTransient(SocketLibrary.RUNTIME.getLastError()); tries++) {
            r = call.getAsInt();
        }
        return r;
    }

    /** The socket's pending error (SO_ERROR), which reading clears; 0 if none. */
    private static int socketError(SocketLibrary lib, int fd, String call) throws IOException {
        Pointer value = Memory.allocateDirect(SocketLibrary.RUNTIME, 4, true);
        Pointer size = Memory.allocateDirect(SocketLibrary.RUNTIME, 4, true);
        size.putInt(0, 4);
        if (retrying(() -> lib.getsockopt(fd, SocketLevel.SOL_SOCKET.intValue(), SocketOption.SO_ERROR.intValue(), value, size)) < 0) {
            throw NativeErrors.exception(call, fd, SocketLibrary.RUNTIME.getLastError());
        }
        return value.getInt(0);
    }

    /**
     * Starts connecting a new non-blocking TCP socket to {@code remote} and returns it at once,
     * connected already (loopback can be that quick) or with the connection under way, as java.nio's
     * {@code SocketChannel.connect} does in non-blocking mode. Watch it for WRITE, which is reported
     * once the attempt has ended either way (with ERROR if it failed), then ask {@link
     * #finishConnect} how it ended. The channel owns the fd; close it if the attempt is abandoned.
     *
     * @throws IOException if the attempt cannot even start, or fails at once (some systems refuse a
     *     connection to a closed loopback port right away with ECONNREFUSED), naming the address and
     *     the fd; nothing is left open then
     */
    NativeSocketChannel startConnect(InetSocketAddress remote) throws IOException {
        Objects.requireNonNull(remote, "remote");
        InetAddress ip = resolve(remote);
        int fd = openSocket(family(ip), Sock.SOCK_STREAM.intValue(), "socket(" + text(remote));
        try {
            Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, SOCKADDR_MAX, true);
            int len = encode(ip, remote.getPort(), sa);
            if (retrying(() -> lib.connect(fd, sa, len)) < 0) {
                int errno = SocketLibrary.RUNTIME.getLastError();
                // EINTR: the attempt goes on in the background (POSIX connect(2)), as with EINPROGRESS.
                if (errno != NativeErrors.EINPROGRESS && errno != NativeErrors.EINTR) {
                    throw connectFailure(remote, NativeErrors.exception("connect(", fd, errno));
                }
            }
            return nonBlocking(new NativeSocketChannel(fd));
        } catch (IOException | RuntimeException e) {
            lib.close(fd);
            throw e;
        }
    }

    /**
     * How a connection from {@link #startConnect} ended: true if it is established, false if it is
     * still under way; the attempt's error (ECONNREFUSED, ETIMEDOUT, ...) is thrown, naming the fd,
     * and read from the socket (SO_ERROR), so a second call no longer sees it.
     */
    boolean finishConnect(NativeSocketChannel ch) throws IOException {
        int fd = ch.getFD();
        int error = socketError(lib, fd, "getsockopt(SO_ERROR");
        if (error != 0) {
            throw NativeErrors.exception("connect(", fd, error);
        }
        Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, SOCKADDR_MAX, true);
        Pointer len = Memory.allocateDirect(SocketLibrary.RUNTIME, 4, true);
        len.putInt(0, SOCKADDR_MAX);
        if (retrying(() -> lib.getpeername(fd, sa, len)) == 0) {
            return true;
        }
        int errno = SocketLibrary.RUNTIME.getLastError();
        if (errno == NativeErrors.ENOTCONN) {
            return false;
        }
        throw NativeErrors.exception("getpeername(", fd, errno);
    }

    /**
     * Accepts one pending connection, non-blocking and close-on-exec; null when none is waiting
     * (EAGAIN). EINTR and ECONNABORTED (a client that left the backlog) are retried; anything else
     * (EMFILE, ENFILE, ...) throws, naming the listening fd.
     */
    NativeSocketChannel accept(NativeSelectableChannel server) throws IOException {
        Objects.requireNonNull(server, "server");
        int sfd = server.getFD();
        while (true) {
            int fd = HAS_ACCEPT4
                    ? lib.accept4(sfd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC)
                    : lib.accept(sfd, null, null);
            if (fd >= 0) {
                if (!HAS_ACCEPT4) {
                    prepareOrClose(fd);
                }
                return nonBlocking(new NativeSocketChannel(fd));
            }
            int errno = SocketLibrary.RUNTIME.getLastError();
            if (NativeErrors.wouldBlock(errno)) {
                return null;
            }
            if (errno != NativeErrors.EINTR && errno != ECONNABORTED) {
                throw NativeErrors.exception(HAS_ACCEPT4 ? "accept4(" : "accept(", sfd, errno);
            }
        }
    }

    private static final int ECONNABORTED = jnr.constants.platform.Errno.ECONNABORTED.intValue();
    private static final int ECONNREFUSED = jnr.constants.platform.Errno.ECONNREFUSED.intValue();
    private static final int ETIMEDOUT = jnr.constants.platform.Errno.ETIMEDOUT.intValue();
    private static final int EHOSTUNREACH = jnr.constants.platform.Errno.EHOSTUNREACH.intValue();
    private static final int ENETUNREACH = jnr.constants.platform.Errno.ENETUNREACH.intValue();

    /** Whether {@code errno} is a connection's refusal, as {@link #connectFailure} maps them. */
    static boolean refusal(int errno) {
        return errno == ECONNREFUSED || errno == ETIMEDOUT || errno == EHOSTUNREACH || errno == ENETUNREACH;
    }

    /**
     * A failed connection to {@code remote}, as JDK users catch it: {@link ConnectException} for a
     * refusal or a kernel timeout, {@link NoRouteToHostException} for an unreachable host or network
     * (what {@code java.net.Socket} throws for the same errnos), else a {@link NativeIOException}.
     * The message names the address, the fd and the errno, e.g. {@code connect(127.0.0.1:5,
     * fd=39): ECONNREFUSED (Connection refused)}; the cause of the first two is the {@link
     * NativeIOException}, whose {@code errno()} tells the errno.
     */
    static IOException connectFailure(InetSocketAddress remote, NativeIOException e) {
        NativeIOException named = NativeErrors.exception("connect(" + text(remote), e.fd(), e.errno());
        IOException thrown;
        if (e.errno() == ECONNREFUSED || e.errno() == ETIMEDOUT) {
            thrown = new ConnectException(named.getMessage());
        } else if (e.errno() == EHOSTUNREACH || e.errno() == ENETUNREACH) {
            thrown = new NoRouteToHostException(named.getMessage());
        } else {
            return named;
        }
        thrown.initCause(named);
        return thrown;
    }

    /** A connected AF_UNIX stream pair, both ends non-blocking and close-on-exec. */
    NativeSocketChannel[] socketPair() throws IOException {
        int[] fds = new int[2];
        int type = Sock.SOCK_STREAM.intValue() | SOCK_NONBLOCK | SOCK_CLOEXEC;
        if (retrying(() -> lib.socketpair(AddressFamily.AF_UNIX.intValue(), type, 0, fds)) < 0) {
            throw error("socketpair(AF_UNIX", -1);
        }
        try {
            if (SOCK_CLOEXEC == 0) {
                makeNonBlockingCloexec(fds[0]);
                makeNonBlockingCloexec(fds[1]);
                noSigPipe(fds[0]);
                noSigPipe(fds[1]);
            }
        } catch (IOException e) {
            lib.close(fds[0]);
            lib.close(fds[1]);
            throw e;
        }
        return new NativeSocketChannel[] {nonBlocking(new NativeSocketChannel(fds[0])),
                nonBlocking(new NativeSocketChannel(fds[1]))};
    }

    /**
     * A socket's own address (getsockname) or its peer's (getpeername): an {@link
     * InetSocketAddress} for IPv4 and IPv6, a {@link UnixDomainSocketAddress} for AF_UNIX.
     *
     * @throws IOException naming the call and the fd: ENOTCONN for the peer of an unconnected
     *     socket, ENOTSOCK, EBADF; or a family neither IP nor AF_UNIX
     */
    SocketAddress address(int fd, boolean peer) throws IOException {
        Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, SOCKADDR_MAX, true);
        Pointer len = Memory.allocateDirect(SocketLibrary.RUNTIME, 4, true);
        len.putInt(0, SOCKADDR_MAX);
        String call = peer ? "getpeername(" : "getsockname(";
        if (retrying(() -> peer ? lib.getpeername(fd, sa, len) : lib.getsockname(fd, sa, len)) < 0) {
            throw error(call, fd);
        }
        return decode(sa, Math.min(len.getInt(0), SOCKADDR_MAX), SOCKADDR_HAS_LEN, call + "fd=" + fd + ")");
    }

    /**
     * Reads a {@code sockaddr} of {@code length} bytes: the family (a 16-bit field on Linux, the
     * byte after the length byte on 4.4BSD's descendants), then for AF_INET the port at 2 and the
     * address at 4; for AF_INET6 the port at 2, the address at 8 and the scope id at 24; for AF_UNIX
     * the path from 2, up to its NUL or the length (an unnamed socket, such as either end of a
     * socketpair, has none: the empty path). A Linux abstract name (a NUL first) is returned with a
     * leading {@code @}, as Linux's own tools print it ({@code UnixDomainSocketAddress} cannot hold a
     * NUL).
     */
    static SocketAddress decode(Pointer sa, int length, boolean hasLength, String what) throws IOException {
        int family = hasLength ? sa.getByte(1) & 0xff : sa.getShort(0) & 0xffff;
        int port = ((sa.getByte(2) & 0xff) << 8) | (sa.getByte(3) & 0xff);
        if (family == AddressFamily.AF_INET.intValue()) {
            byte[] addr = new byte[4];
            sa.get(4, addr, 0, 4);
            return new InetSocketAddress(InetAddress.getByAddress(addr), port);
        }
        if (family == AddressFamily.AF_INET6.intValue()) {
            byte[] addr = new byte[16];
            sa.get(8, addr, 0, 16);
            int scope = sa.getInt(24);
            return new InetSocketAddress(scope == 0 ? InetAddress.getByAddress(addr)
                    : Inet6Address.getByAddress(null, addr, scope), port);
        }
        if (family == AddressFamily.AF_UNIX.intValue()) {
            int n = Math.max(0, length - 2);
            byte[] path = new byte[n];
            sa.get(2, path, 0, n);
            boolean abstractName = n > 0 && path[0] == 0;
            int from = abstractName ? 1 : 0;
            int to = from;
            while (to < n && path[to] != 0) {
                to++;
            }
            String text = new String(path, from, to - from, PATH_CHARSET);
            return UnixDomainSocketAddress.of(abstractName ? "@" + text : text);
        }
        throw new IOException(what + ": address family " + family + " is neither IPv4, IPv6 nor AF_UNIX");
    }

    /** How the kernel's path bytes become a String: the JVM's own encoding for file names. */
    private static final java.nio.charset.Charset PATH_CHARSET = pathCharset();

    private static java.nio.charset.Charset pathCharset() {
        try {
            return java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (IllegalArgumentException e) {
            return java.nio.charset.StandardCharsets.UTF_8;
        }
    }

    /**
     * Whether {@code fd} is a socket on which listen(2) was called (SO_ACCEPTCONN, which Linux,
     * macOS and the BSDs all answer for a socket).
     *
     * @throws IOException naming the fd: ENOTSOCK for an fd that is no socket, EBADF for none
     */
    boolean isListening(int fd) throws IOException {
        Pointer value = Memory.allocateDirect(SocketLibrary.RUNTIME, 4, true);
        Pointer size = Memory.allocateDirect(SocketLibrary.RUNTIME, 4, true);
        size.putInt(0, 4);
        if (retrying(() -> lib.getsockopt(fd, SocketLevel.SOL_SOCKET.intValue(), SocketOption.SO_ACCEPTCONN.intValue(),
                value, size)) < 0) {
            throw error("getsockopt(SO_ACCEPTCONN", fd);
        }
        return value.getInt(0) != 0;
    }

    /** SO_SNDBUF (the kernel may round or double it). */
    void setSendBufferSize(int fd, int bytes) throws IOException {
        setIntOption(fd, SocketLevel.SOL_SOCKET.intValue(), SocketOption.SO_SNDBUF.intValue(), bytes,
                "setsockopt(SO_SNDBUF");
    }

    /** SO_RCVBUF (the kernel may round or double it). */
    void setReceiveBufferSize(int fd, int bytes) throws IOException {
        setIntOption(fd, SocketLevel.SOL_SOCKET.intValue(), SocketOption.SO_RCVBUF.intValue(), bytes,
                "setsockopt(SO_RCVBUF");
    }

    /** TCP_NODELAY on or off. */
    void setTcpNoDelay(int fd, boolean on) throws IOException {
        setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "setsockopt(TCP_NODELAY");
    }

    /**
     * Closes {@code ch} abortively: SO_LINGER {on, 0 s} then close, so the peer gets a RST instead
     * of a FIN (its next read or write fails with ECONNRESET).
     */
    void abort(NativeSocketChannel ch) throws IOException {
        Pointer linger = Memory.allocateDirect(SocketLibrary.RUNTIME, 8, true);
        linger.putInt(0, 1);
        linger.putInt(4, 0);
        int fd = ch.getFD();
        if (retrying(() -> lib.setsockopt(fd, SocketLevel.SOL_SOCKET.intValue(), SocketOption.SO_LINGER.intValue(), linger, 8)) < 0) {
            throw error("setsockopt(SO_LINGER", fd);
        }
        ch.close();
    }

    /** Shuts down the write side: the peer reads end of stream after the data already sent. */
    void shutdownOutput(int fd) throws IOException {
        if (retrying(() -> lib.shutdown(fd, Shutdown.SHUT_WR.intValue())) < 0) {
            throw error("shutdown(SHUT_WR", fd);
        }
    }

    /**
     * Sends from {@code src} without ever raising SIGPIPE and without blocking (MSG_DONTWAIT, so a
     * socket left in blocking mode cannot hold the caller in the kernel); advances its position. A
     * direct buffer's memory is passed to send(2) in place; a heap buffer's bytes go through a
     * staging buffer, at most {@link StagingBuffers#SIZE} of them per call.
     *
     * @return bytes sent, 0 if the send buffer is full (EAGAIN)
     * @throws IOException EPIPE or ECONNRESET when the peer is gone, naming the fd
     */
    int send(int fd, ByteBuffer src) throws IOException {
        int n = src.remaining();
        if (n == 0) {
            return 0;
        }
        if (src.isDirect()) {
            return sent(fd, src, lib.send(fd, src, n, MSG_NOSIGNAL | MSG_DONTWAIT), null, 0);
        }
        StagingBuffers.Staging staging = StagingBuffers.take();
        try {
            int len = Math.min(n, StagingBuffers.SIZE);
            staging.buffer.put(0, src, src.position(), len);
            return sent(fd, src, lib.send(fd, staging.address, len, MSG_NOSIGNAL | MSG_DONTWAIT), staging, len);
        } finally {
            StagingBuffers.give(staging);
        }
    }

    /**
     * Finishes a send whose first result is {@code sent}: EINTR sends again (never "0 sent": a caller
     * that then waits for WRITE on an edge-triggered registration would wait for an edge that does
     * not come), EAGAIN is 0, anything else throws.
     */
    private int sent(int fd, ByteBuffer src, long sent, StagingBuffers.Staging staging, int len) throws IOException {
        while (sent < 0) {
            int errno = SocketLibrary.RUNTIME.getLastError();
            if (NativeErrors.wouldBlock(errno)) {
                return 0;
            }
            if (errno != NativeErrors.EINTR) {
                throw NativeErrors.exception("send(", fd, errno);
            }
            sent = staging == null ? lib.send(fd, src, src.remaining(), MSG_NOSIGNAL | MSG_DONTWAIT)
                    : lib.send(fd, staging.address, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        src.position(src.position() + (int) sent);
        return (int) sent;
    }

    /**
     * Receives into {@code dst} from its position without blocking (MSG_DONTWAIT); advances its
     * position. Only the bytes received change: a direct buffer's memory is passed to recv(2) in
     * place; a heap buffer's bytes come through a staging buffer, at most {@link
     * StagingBuffers#SIZE} per call, and only those the kernel delivered are copied in.
     *
     * @return bytes received, 0 if nothing is there yet (EAGAIN), -1 at end of stream
     * @throws IllegalArgumentException if {@code dst} is read-only (as java.nio's channels say)
     * @throws IOException ECONNRESET and other socket errors, naming the fd
     */
    int recv(int fd, ByteBuffer dst) throws IOException {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read-only buffer");
        }
        int n = dst.remaining();
        if (n == 0) {
            return 0;
        }
        if (dst.isDirect()) {
            while (true) {
                long got = lib.recv(fd, dst, n, MSG_DONTWAIT);
                if (got >= 0 || !retryRecv(fd)) {
                    return received(dst, got, null);
                }
            }
        }
        StagingBuffers.Staging staging = StagingBuffers.take();
        try {
            int len = Math.min(n, StagingBuffers.SIZE);
            while (true) {
                long got = lib.recv(fd, staging.address, len, MSG_DONTWAIT);
                if (got >= 0 || !retryRecv(fd)) {
                    return received(dst, got, staging);
                }
            }
        } finally {
            StagingBuffers.give(staging);
        }
    }

    /** After recv returned -1: true to call again (EINTR), false for "nothing yet"; else throws. */
    private static boolean retryRecv(int fd) throws IOException {
        int errno = SocketLibrary.RUNTIME.getLastError();
        if (NativeErrors.wouldBlock(errno)) {
            return false;
        }
        if (errno != NativeErrors.EINTR) {
            throw NativeErrors.exception("recv(", fd, errno);
        }
        return true;
    }

    /** What recv's result {@code got} means for the caller; copies staged bytes into {@code dst}. */
    private static int received(ByteBuffer dst, long got, StagingBuffers.Staging staging) {
        if (got < 0) {
            return 0; // EAGAIN
        }
        if (got == 0) {
            return -1;
        }
        int pos = dst.position();
        if (staging != null) {
            dst.put(pos, staging.buffer, 0, (int) got);
        }
        dst.position(pos + (int) got);
        return (int) got;
    }

    /**
     * Looks at the socket without consuming anything: recv(1 byte, MSG_PEEK|MSG_DONTWAIT).
     *
     * @return 1 if data is waiting, 0 if the peer closed (end of stream), -1 if nothing is there
     *     yet
     * @throws IOException if the socket has an error (ECONNRESET, ...)
     */
    int peek(int fd) throws IOException {
        Pointer b = Memory.allocateDirect(SocketLibrary.RUNTIME, 1, false);
        while (true) {
            long n = lib.recv(fd, b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n >= 0) {
                return (int) n;
            }
            int errno = SocketLibrary.RUNTIME.getLastError();
            if (NativeErrors.wouldBlock(errno)) {
                return -1;
            }
            if (errno != NativeErrors.EINTR) {
                throw NativeErrors.exception("recv(MSG_PEEK", fd, errno);
            }
        }
    }

    // ------------------------------------------------------------------ plumbing

    /**
     * A new channel believes it is in blocking mode whatever its fd says; tell it the truth, so that
     * {@code isBlocking()} is right and a later {@code configureBlocking(true)} really blocks.
     */
    private static <C extends java.nio.channels.spi.AbstractSelectableChannel> C nonBlocking(C ch) throws IOException {
        try {
            ch.configureBlocking(false);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private int openSocket(int family, int type, String call) throws IOException {
        int fd = retrying(() -> lib.socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (fd < 0) {
            throw error(call, -1);
        }
        if (SOCK_CLOEXEC == 0) {
            prepareOrClose(fd);
        }
        return fd;
    }

    /**
     * Where the OS cannot create a socket non-blocking and close-on-exec at once: sets both with
     * fcntl, and SO_NOSIGPIPE where there is no MSG_NOSIGNAL; closes {@code fd} if that fails.
     */
    private void prepareOrClose(int fd) throws IOException {
        try {
            makeNonBlockingCloexec(fd);
            noSigPipe(fd);
        } catch (IOException e) {
            lib.close(fd);
            throw e;
        }
    }

    private void makeNonBlockingCloexec(int fd) throws IOException {
        int fdFlags = retrying(() -> lib.fcntl(fd, Fcntl.F_GETFD.intValue(), 0));
        if (fdFlags < 0) {
            throw error("fcntl(F_GETFD", fd);
        }
        if (retrying(() -> lib.fcntl(fd, Fcntl.F_SETFD.intValue(), fdFlags | FD_CLOEXEC)) < 0) {
            throw error("fcntl(F_SETFD", fd);
        }
        setBlocking(fd, false);
    }

    private void setBlocking(int fd, boolean blocking) throws IOException {
        int nonblock = OpenFlags.O_NONBLOCK.intValue();
        int flags = retrying(() -> lib.fcntl(fd, Fcntl.F_GETFL.intValue(), 0));
        if (flags < 0) {
            throw error("fcntl(F_GETFL", fd);
        }
        int wanted = blocking ? flags & ~nonblock : flags | nonblock;
        if (retrying(() -> lib.fcntl(fd, Fcntl.F_SETFL.intValue(), wanted)) < 0) {
            throw error("fcntl(F_SETFL", fd);
        }
    }

    /** macOS and other systems without MSG_NOSIGNAL: ask the socket never to raise SIGPIPE. */
    private void noSigPipe(int fd) throws IOException {
        if (MSG_NOSIGNAL == 0 && SocketOption.SO_NOSIGPIPE.defined()) {
            setIntOption(fd, SocketLevel.SOL_SOCKET.intValue(), SocketOption.SO_NOSIGPIPE.intValue(), 1,
                    "setsockopt(SO_NOSIGPIPE");
        }
    }

    private void setIntOption(int fd, int level, int name, int value, String call) throws IOException {
        Pointer v = Memory.allocateDirect(SocketLibrary.RUNTIME, 4, false);
        v.putInt(0, value);
        if (retrying(() -> lib.setsockopt(fd, level, name, v, 4)) < 0) {
            throw error(call, fd);
        }
    }

    private static InetAddress resolve(InetSocketAddress address) throws IOException {
        if (!address.isUnresolved()) {
            return address.getAddress();
        }
        try {
            return InetAddress.getByName(address.getHostString());
        } catch (UnknownHostException e) {
            throw new IOException("cannot resolve host \"" + address.getHostString() + "\" (port "
                    + address.getPort() + ")", e);
        }
    }

    private static int family(InetAddress ip) {
        return (ip instanceof Inet6Address ? AddressFamily.AF_INET6 : AddressFamily.AF_INET).intValue();
    }

    /** Writes a sockaddr_in / sockaddr_in6 for this OS into {@code sa}; returns its length. */
    static int encode(InetAddress ip, int port, Pointer sa) {
        return encode(ip, port, sa, SOCKADDR_HAS_LEN, family(ip));
    }

    /**
     * Writes a {@code sockaddr_in} (16 bytes) or {@code sockaddr_in6} (28 bytes): on 4.4BSD's
     * descendants a length byte and a one-byte family ({@code netinet/in.h}: sin_len, sin_family),
     * on Linux a 16-bit family; then the port in network order at 2, the IPv4 address at 4, or the
     * flow info at 4, the IPv6 address at 8 and the scope id at 24.
     */
    static int encode(InetAddress ip, int port, Pointer sa, boolean hasLength, int family) {
        boolean v6 = ip instanceof Inet6Address;
        int len = v6 ? 28 : 16;
        sa.setMemory(0, len, (byte) 0);
        if (hasLength) {
            sa.putByte(0, (byte) len);
            sa.putByte(1, (byte) family);
        } else {
            sa.putShort(0, (short) family);
        }
        sa.putByte(2, (byte) (port >>> 8));
        sa.putByte(3, (byte) port);
        byte[] addr = ip.getAddress();
        if (v6) {
            sa.put(8, addr, 0, 16);
            sa.putInt(24, ((Inet6Address) ip).getScopeId());
        } else {
            assert ip instanceof Inet4Address;
            sa.put(4, addr, 0, 4);
        }
        return len;
    }

    private static String text(InetSocketAddress a) {
        String host = a.isUnresolved() ? a.getHostString()
                : a.getAddress() instanceof Inet6Address ? "[" + a.getAddress().getHostAddress() + "]"
                : a.getAddress().getHostAddress();
        return host + ":" + a.getPort();
    }

    private static IOException error(String call, int fd) {
        return NativeErrors.exception(call, fd, SocketLibrary.RUNTIME.getLastError());
    }
}
