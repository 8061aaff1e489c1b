package io.polyplex.internal;

import io.polyplex.SocketEvent;
import jnr.constants.platform.Errno;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.posix.FileStat;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * Checks a backend makes before it accepts an fd that its kernel call would only reject later, or
 * not at all: select and poll take any number and report a closed one only at the next wait, and
 * report a regular file as always ready; kqueue accepts a regular file too (always readable). epoll
 * refuses such fds itself.
 *
 * <p>Thread-safe: each thread has its own scratch buffers. Nothing here keeps, closes or changes
 * the fds it looks at.
 */
public final class Descriptors {

    private static final POSIX POSIX = POSIXFactory.getNativePOSIX();
    // poll(2) bits: the same on Linux, macOS and the BSDs (<poll.h>; kernel-facts.md)
    private static final int POLLIN = 0x1;
    private static final int POLLOUT = 0x4;
    private static final int POLLERR = 0x8;
    private static final int POLLHUP = 0x10;
    private static final int POLLNVAL = 0x20;

    /** One stat buffer per thread, reused: registering an fd allocates nothing in steady state. */
    private static final ThreadLocal<FileStat> STAT = ThreadLocal.withInitial(POSIX::allocateStat);
    /** One {@code struct pollfd} per thread for {@link #isOpen}. */
    private static final ThreadLocal<Pointer> POLLFD =
            ThreadLocal.withInitial(() -> Memory.allocateDirect(LibC.RUNTIME, 8, true));

    /** One byte per thread for {@link #readyNow}'s peek. */
    private static final ThreadLocal<Pointer> ONE_BYTE =
            ThreadLocal.withInitial(() -> Memory.allocateDirect(LibC.RUNTIME, 1, false));

    private Descriptors() {}

    /**
     * Throws unless {@code fd} is open and can be polled meaningfully (a socket, pipe, FIFO or
     * terminal, not a regular file or directory).
     *
     * @param call names the backend's call in the message, e.g. {@code "poll(register"}
     * @param fd the fd to check
     * @throws io.polyplex.NativeIOException EBADF if it is not open, EPERM for a regular file or
     *     directory (as epoll_ctl says), or fstat's errno
     */
    public static void requirePollable(String call, int fd) throws io.polyplex.NativeIOException {
        if (!isOpen(fd)) {
            throw NativeErrors.exception(call, fd, NativeErrors.EBADF);
        }
        FileStat st = STAT.get();
        if (POSIX.fstat(fd, st) < 0) {
            throw NativeErrors.exception(call, fd, POSIX.errno());
        }
        if (st.isFile() || st.isDirectory()) {
            // What epoll_ctl says of a regular file: readiness would be meaningless.
            throw NativeErrors.exception(call, fd, Errno.EPERM.intValue());
        }
    }

    /**
     * Throws EBADF, naming {@code call}, unless {@code fd} is an open descriptor.
     *
     * @param call names the backend's call in the message
     * @param fd the fd to check
     * @throws io.polyplex.NativeIOException EBADF if {@code fd} is not open
     */
    public static void requireOpen(String call, int fd) throws io.polyplex.NativeIOException {
        if (!isOpen(fd)) {
            throw NativeErrors.exception(call, fd, NativeErrors.EBADF);
        }
    }

    /**
     * What {@code fd} is ready for now, in the bits a backend's event would carry, from one poll(2)
     * that does not wait: READ for POLLIN, WRITE for POLLOUT, READ and PEER_CLOSED for POLLRDHUP,
     * READ, WRITE and PEER_CLOSED for POLLHUP, READ, WRITE and ERROR for POLLERR (what the epoll
     * backend makes of the same flags). Where poll(2) has no POLLRDHUP, a readable fd is asked with
     * recv(MSG_PEEK | MSG_DONTWAIT) whether it is at end of stream, as the peer-closed probe does.
     *
     * @param call names the call in an error, e.g. {@code "poll("}
     * @param fd the fd
     * @param direction {@code SocketEvent.READ} or {@code SocketEvent.WRITE}: what to ask for
     * @return the ready bits, 0 if none
     * @throws io.polyplex.NativeIOException EBADF if {@code fd} is not open, or poll's errno
     */
    public static int readyNow(String call, int fd, int direction) throws io.polyplex.NativeIOException {
        int rdhup = OsConstants.CURRENT.pollRdhup();
        Pointer pfd = POLLFD.get();
        pfd.putInt(0, fd);
        pfd.putShort(4, (short) (direction == SocketEvent.READ ? POLLIN | rdhup : POLLOUT));
        pfd.putShort(6, (short) 0);
        int n;
        for (int tries = 1; (n = LibC.INSTANCE.poll(pfd, 1, 0)) < 0; tries++) {
            int errno = LibC.errno();
            if (!NativeErrors.isTransient(errno) || tries >= NativeErrors.TRANSIENT_RETRIES) {
                throw NativeErrors.exception(call, fd, errno);
            }
        }
        if (n == 0) {
            return 0;
        }
        int revents = pfd.getShort(6) & 0xffff;
        if ((revents & POLLNVAL) != 0) {
            throw NativeErrors.exception(call, fd, NativeErrors.EBADF);
        }
        int ops = 0;
        if ((revents & POLLIN) != 0) {
            ops |= SocketEvent.READ;
        }
        if ((revents & POLLOUT) != 0) {
            ops |= SocketEvent.WRITE;
        }
        if (rdhup != 0 && (revents & rdhup) != 0) {
            ops |= SocketEvent.READ | SocketEvent.PEER_CLOSED;
        }
        if ((revents & POLLHUP) != 0) {
            ops |= SocketEvent.READ | SocketEvent.WRITE | SocketEvent.PEER_CLOSED;
        }
        if ((revents & POLLERR) != 0) {
            ops |= SocketEvent.READ | SocketEvent.WRITE | SocketEvent.ERROR;
        }
        if (rdhup == 0 && direction == SocketEvent.READ
                && (ops & (SocketEvent.READ | SocketEvent.PEER_CLOSED | SocketEvent.ERROR)) == SocketEvent.READ) {
            ops |= PeerProbe.peek(LibC.INSTANCE, ONE_BYTE.get(), fd);
        }
        return ops;
    }

    /**
     * Whether {@code fd} is an open descriptor: a poll(2) of it that asks for nothing and does not
     * wait says POLLNVAL only for a number that is not open (POSIX poll: "The specified fd value is
     * invalid"). Not fcntl(F_GETFD): fcntl is variadic, and jnr-ffi's variadic calls allocate.
     *
     * @param fd any number
     * @return false for a negative number or one that is not open now
     */
    public static boolean isOpen(int fd) {
        if (fd < 0) {
            return false;
        }
        Pointer pfd = POLLFD.get();
        pfd.putInt(0, fd);
        pfd.putShort(4, (short) 0);
        pfd.putShort(6, (short) 0);
        int n = LibC.INSTANCE.poll(pfd, 1, 0);
        return n <= 0 || (pfd.getShort(6) & POLLNVAL) == 0;
    }
}
