package io.polyplex.internal;

import io.polyplex.NativeIOException;
import jnr.constants.platform.Errno;

/**
 * errno to exception. Messages name the call, the fd and the errno by name and text, e.g. {@code
 * epoll_ctl(ADD, fd=17): EBADF (Bad file descriptor)}; numbers differ by OS, names do not, so code
 * compares names or the constants below, never literals.
 */
public final class NativeErrors {

    public static final int EINTR = value(Errno.EINTR, 4);
    public static final int EAGAIN = value(Errno.EAGAIN, 11);
    public static final int EWOULDBLOCK = value(Errno.EWOULDBLOCK, EAGAIN);
    public static final int EBADF = value(Errno.EBADF, 9);
    public static final int ENOENT = value(Errno.ENOENT, 2);
    public static final int EEXIST = value(Errno.EEXIST, 17);
    public static final int EINVAL = value(Errno.EINVAL, 22);
    public static final int ENOTSOCK = value(Errno.ENOTSOCK, 88);
    public static final int EINPROGRESS = value(Errno.EINPROGRESS, 115);
    public static final int ENOTCONN = value(Errno.ENOTCONN, 107);

    private NativeErrors() {}

    /** An exception for a failed call on {@code fd} with {@code errno}. */
    public static NativeIOException exception(String call, int fd, int errno) {
        return new NativeIOException(call, fd, errno, name(errno), text(errno));
    }

    /** As {@link #exception(String, int, int)}, with a sentence on what to do about it. */
    public static NativeIOException exception(String call, int fd, int errno, String detail) {
        return new NativeIOException(call, fd, errno, name(errno), text(errno), detail);
    }

    /** The errno's symbolic name, e.g. {@code EBADF}, or {@code errno 123} if unknown here. */
    public static String name(int errno) {
        Errno e = Errno.valueOf(errno);
        return e != null && e.defined() && e != Errno.__UNKNOWN_CONSTANT__ ? e.name() : "errno " + errno;
    }

    /** The errno's description, e.g. {@code Bad file descriptor}. */
    public static String text(int errno) {
        Errno e = Errno.valueOf(errno);
        return e != null && e.defined() && e != Errno.__UNKNOWN_CONSTANT__ ? e.description() : "unknown error";
    }

    /**
     * How many times a call that does not wait (epoll_ctl, pipe2, fcntl, a kevent that only
     * changes) is made again after a transient errno before that errno is reported. Such calls
     * return EINTR or EAGAIN rarely (a signal during a page fault, a momentary shortage), and a
     * repeat is harmless: each is idempotent or failed without effect. The bound keeps a kernel that
     * says EAGAIN for good from turning a call into a spin.
     */
    public static final int TRANSIENT_RETRIES = 8;

    /** Whether {@code errno} says the call may simply be made again (EINTR, EAGAIN, EWOULDBLOCK). */
    public static boolean isTransient(int errno) {
        return errno == EINTR || wouldBlock(errno);
    }

    /** Whether {@code errno} means "try again later" (EAGAIN or EWOULDBLOCK). */
    public static boolean wouldBlock(int errno) {
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }

    private static int value(Errno e, int fallback) {
        return e.defined() ? e.intValue() : fallback;
    }
}
