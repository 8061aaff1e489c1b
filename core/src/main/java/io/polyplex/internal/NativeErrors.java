package io.polyplex.internal;

import io.polyplex.NativeIOException;
import jnr.constants.platform.Errno;

/**
 * errno to exception. Messages name the call, the fd and the errno by name and text, e.g. {@code
 * epoll_ctl(ADD, fd=17): EBADF (Bad file descriptor)}; numbers differ by OS, names do not, so code
 * compares names or the constants below, never literals.
 */
public final class NativeErrors {

    // This OS's numbers, from jnr-constants; the fallback (Linux's) only where it has none.

    /** EINTR on this OS: a signal interrupted the call. */
    public static final int EINTR = value(Errno.EINTR, 4);
    /** EAGAIN on this OS: try again later. */
    public static final int EAGAIN = value(Errno.EAGAIN, 11);
    /** EWOULDBLOCK on this OS; equal to {@link #EAGAIN} on most. */
    public static final int EWOULDBLOCK = value(Errno.EWOULDBLOCK, EAGAIN);
    /** EBADF on this OS: not an open fd. */
    public static final int EBADF = value(Errno.EBADF, 9);
    /** ENOENT on this OS: e.g. epoll_ctl's and kevent's answer for an fd the set does not hold. */
    public static final int ENOENT = value(Errno.ENOENT, 2);
    /** EEXIST on this OS: e.g. epoll_ctl's answer to adding an fd the set already holds. */
    public static final int EEXIST = value(Errno.EEXIST, 17);
    /** EINVAL on this OS. */
    public static final int EINVAL = value(Errno.EINVAL, 22);
    /** ENOTSOCK on this OS. */
    public static final int ENOTSOCK = value(Errno.ENOTSOCK, 88);
    /** EINPROGRESS on this OS: a non-blocking connect goes on in the background. */
    public static final int EINPROGRESS = value(Errno.EINPROGRESS, 115);
    /** ENOTCONN on this OS: the socket is not connected (yet). */
    public static final int ENOTCONN = value(Errno.ENOTCONN, 107);

    private NativeErrors() {}

    /**
     * An exception for a failed call on {@code fd} with {@code errno}.
     *
     * @param call the call as the message should show it, e.g. {@code "epoll_ctl(ADD"}
     * @param fd the fd concerned, or -1
     * @param errno the errno the call left
     * @return the exception, to be thrown by the caller
     */
    public static NativeIOException exception(String call, int fd, int errno) {
        return new NativeIOException(call, fd, errno, name(errno), text(errno));
    }

    /**
     * As {@link #exception(String, int, int)}, with a sentence on what to do about it.
     *
     * @param call the call as the message should show it
     * @param fd the fd concerned, or -1
     * @param errno the errno the call left
     * @param detail what the caller can do about it
     * @return the exception, to be thrown by the caller
     */
    public static NativeIOException exception(String call, int fd, int errno, String detail) {
        return new NativeIOException(call, fd, errno, name(errno), text(errno), detail);
    }

    /**
     * The errno's symbolic name.
     *
     * @param errno an errno value of this OS
     * @return e.g. {@code EBADF}, or {@code errno 123} if unknown here
     */
    public static String name(int errno) {
        Errno e = Errno.valueOf(errno);
        return e != null && e.defined() && e != Errno.__UNKNOWN_CONSTANT__ ? e.name() : "errno " + errno;
    }

    /**
     * The errno's description.
     *
     * @param errno an errno value of this OS
     * @return e.g. {@code Bad file descriptor}, or {@code unknown error}
     */
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

    /**
     * Whether {@code errno} says the call may simply be made again.
     *
     * @param errno an errno value of this OS
     * @return true for EINTR, EAGAIN and EWOULDBLOCK
     */
    public static boolean isTransient(int errno) {
        return errno == EINTR || wouldBlock(errno);
    }

    /**
     * Whether {@code errno} means "try again later".
     *
     * @param errno an errno value of this OS
     * @return true for EAGAIN and EWOULDBLOCK
     */
    public static boolean wouldBlock(int errno) {
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }

    private static int value(Errno e, int fallback) {
        return e.defined() ? e.intValue() : fallback;
    }
}
