package io.polyplex.kqueue;

import jnr.ffi.Pointer;

/**
 * kqueue(2) and kevent(2), bound with jnr-ffi: the seam a test substitutes (a Mockito mock that
 * checks the exact changelist bytes); production always binds libc. Only primitives and
 * direct-memory pointers, so every call takes jnr-ffi's fastest path.
 */
public interface KqueueLibrary {

    /**
     * kqueue(2).
     *
     * @return the new kqueue fd, which the caller owns, or -1 with errno set
     */
    int kqueue();

    /**
     * kevent(2): applies a changelist, then waits for events.
     *
     * @param kq the kqueue fd
     * @param changelist {@code nchanges} {@code struct kevent}s in direct memory, or null
     * @param nchanges the number of changes
     * @param eventlist direct memory for {@code nevents} {@code struct kevent}s
     * @param nevents the most events (or receipts) to return
     * @param timeout a {@code struct timespec}, or null to wait without limit
     * @return the number of entries written to {@code eventlist}, 0 on timeout, or -1 with errno
     *     set
     */
    int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout);

    /**
     * Variadic in C ({@code int fcntl(int, int, ...)}; Apple arm64 passes the third argument on
     * the stack), so not bound by jnr-ffi: called through a jffi call context prepared as variadic
     * for it alone ({@link io.polyplex.internal.VariadicFunction}, which says why).
     *
     * @param fd the fd
     * @param cmd an {@code F_*} command
     * @param arg the command's argument
     * @return the command's result, or -1 with errno set
     */
    default int fcntl(int fd, int cmd, int arg) {
        return io.polyplex.internal.VariadicFunction.FCNTL.invoke(fd, cmd, arg);
    }

    /**
     * close(2).
     *
     * @param fd the fd to close
     * @return 0, or -1 with errno set
     */
    int close(int fd);
}
