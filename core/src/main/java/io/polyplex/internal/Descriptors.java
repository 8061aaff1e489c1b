package io.polyplex.internal;

import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import jnr.posix.FileStat;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * Checks a backend makes before it accepts an fd that its kernel call would only reject later, or
 * not at all: select and poll take any number and report a closed one only at the next wait, and
 * report a regular file as always ready. epoll and kqueue refuse such fds themselves.
 */
public final class Descriptors {

    private static final POSIX POSIX = POSIXFactory.getNativePOSIX();
    private static final int F_GETFD = Fcntl.F_GETFD.intValue();

    /** One stat buffer per thread, reused: registering an fd allocates nothing in steady state. */
    private static final ThreadLocal<FileStat> STAT = ThreadLocal.withInitial(POSIX::allocateStat);

    private Descriptors() {}

    /**
     * Throws unless {@code fd} is open and can be polled meaningfully (a socket, pipe, FIFO or
     * terminal, not a regular file or directory).
     *
     * @param call names the backend's call in the message, e.g. {@code "poll(register"}
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

    /** Throws EBADF, naming {@code call}, unless {@code fd} is an open descriptor. */
    public static void requireOpen(String call, int fd) throws io.polyplex.NativeIOException {
        if (!isOpen(fd)) {
            throw NativeErrors.exception(call, fd, NativeErrors.EBADF);
        }
    }

    /** Whether {@code fd} is an open descriptor (fcntl(F_GETFD) succeeds). */
    public static boolean isOpen(int fd) {
        // Our own binding: jnr-posix's fcntl is variadic and allocates an invocation buffer per call.
        return fd >= 0 && LibC.INSTANCE.fcntl(fd, F_GETFD, 0) >= 0;
    }
}
