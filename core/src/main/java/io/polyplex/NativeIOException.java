package io.polyplex;

import java.io.IOException;

/**
 * A system call failed. The message names the call, the fd and the errno, e.g. {@code
 * epoll_ctl(ADD, fd=17): EBADF (Bad file descriptor)}; the parts are also available separately so
 * a caller can react to one errno without parsing text.
 */
public class NativeIOException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The failed call as given to the constructor, its arguments too: the message's first part. */
    private final String call;
    /** The file descriptor concerned, or -1. */
    private final int fd;
    /** The errno value, as the platform numbers it. */
    private final int errno;
    /** The errno's symbolic name, e.g. {@code EBADF}. */
    private final String errnoName;

    /**
     * Creates one whose message is made of the parts, e.g. {@code epoll_ctl(ADD, fd=17): EBADF (Bad
     * file descriptor)}.
     *
     * @param call the call as it should appear in the message, e.g. {@code "epoll_ctl(ADD"}; the
     *     fd is appended
     * @param fd the file descriptor concerned, or -1 if none
     * @param errno the errno value
     * @param errnoName its symbolic name, e.g. {@code EBADF}
     * @param errnoText its description, e.g. {@code Bad file descriptor}
     */
    public NativeIOException(String call, int fd, int errno, String errnoName, String errnoText) {
        this(call, fd, errno, errnoName, errnoText, null);
    }

    /**
     * As above, with a sentence appended that says what the caller can do about it, e.g. {@code
     * select(register, fd=1500): EINVAL (Invalid argument); fd is >= FD_SETSIZE (1024): use the poll
     * or epoll backend}.
     *
     * @param call the call as it should appear in the message; the fd is appended
     * @param fd the file descriptor concerned, or -1 if none
     * @param errno the errno value
     * @param errnoName its symbolic name
     * @param errnoText its description
     * @param detail what the caller can do about it; {@code null} for nothing
     */
    public NativeIOException(String call, int fd, int errno, String errnoName, String errnoText, String detail) {
        super(format(call, fd, errnoName, errnoText) + (detail == null ? "" : "; " + detail));
        this.call = call;
        this.fd = fd;
        this.errno = errno;
        this.errnoName = errnoName;
    }

    private static String format(String call, int fd, String name, String text) {
        StringBuilder b = new StringBuilder(call);
        if (call.endsWith("(")) {
            b.append("fd=").append(fd).append(')');
        } else if (call.indexOf('(') >= 0 && !call.endsWith(")")) {
            b.append(", fd=").append(fd).append(')');
        } else {
            b.append("(fd=").append(fd).append(')');
        }
        return b.append(": ").append(name).append(" (").append(text).append(')').toString();
    }

    /**
     * Creates a copy of {@code failure} (its call, fd and errno) with a sentence appended: for a
     * subclass that reports the same failure with more to say.
     *
     * @param failure the failure to carry
     * @param detail what the caller can do about it
     */
    protected NativeIOException(NativeIOException failure, String detail) {
        this(failure.call, failure.fd, failure.errno, failure.errnoName, textOf(failure), detail);
    }

    /** The errno's description as {@code failure}'s message gives it, between the parentheses. */
    private static String textOf(NativeIOException e) {
        String m = e.getMessage();
        int open = m.indexOf(" (", m.indexOf("): ") + 3);
        int close = m.indexOf(')', open);
        return open > 0 && close > open ? m.substring(open + 2, close) : e.errnoName;
    }

    /**
     * The name of the system call that failed, without its arguments: what a caller compares.
     *
     * @return e.g. {@code "epoll_ctl"} for the message {@code epoll_ctl(ADD, fd=17): EBADF (...)}
     */
    public String call() {
        int paren = call.indexOf('(');
        return paren < 0 ? call : call.substring(0, paren);
    }

    /**
     * The file descriptor concerned. The number is only a record of the failure: by the time the
     * exception is seen the fd may have been closed and reused.
     *
     * @return the fd, or -1 if the call concerned none
     */
    public int fd() {
        return fd;
    }

    /**
     * The errno value.
     *
     * @return the number, which differs between platforms; compare {@link #errnoName()} to be
     *     portable
     */
    public int errno() {
        return errno;
    }

    /**
     * The errno's symbolic name.
     *
     * @return the name, e.g. {@code EBADF}; the same on every platform
     */
    public String errnoName() {
        return errnoName;
    }
}
