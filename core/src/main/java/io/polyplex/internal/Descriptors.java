package io.polyplex.internal;

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
    private static final int POLLNVAL = 0x20; // the same on Linux, macOS and the BSDs (<poll.h>)

    /** One stat buffer per thread, reused: registering an fd allocates nothing in steady state. */
    private static final ThreadLocal<FileStat> STAT = ThreadLocal.withInitial(POSIX::allocateStat);
    /** One {@code struct pollfd} per thread for {@link #isOpen}. */
    private static final ThreadLocal<Pointer> POLLFD =
            ThreadLocal.withInitial(() -> Memory.allocateDirect(LibC.RUNTIME, 8, true));

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
