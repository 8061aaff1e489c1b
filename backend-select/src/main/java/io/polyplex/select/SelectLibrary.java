package io.polyplex.select;

import jnr.ffi.Pointer;
import jnr.ffi.types.size_t;

/**
 * select(2), bound with jnr-ffi. Only primitives and direct-memory pointers, so the call takes
 * jnr-ffi's fastest path: the sets and the timeval are native memory the backend owns for its whole
 * life. A null {@code timeout} waits without limit.
 */
public interface SelectLibrary {

    /**
     * select(2). The sets are overwritten with the result.
     *
     * @param nfds the highest fd in any set, plus one
     * @param readfds an {@code fd_set} in direct memory, or null
     * @param writefds an {@code fd_set} in direct memory, or null
     * @param exceptfds an {@code fd_set} in direct memory, or null
     * @param timeout a {@code struct timeval}, or null to wait without limit
     * @return the number of ready bits, 0 on timeout, or -1 with errno set
     */
    int select(int nfds, Pointer readfds, Pointer writefds, Pointer exceptfds, Pointer timeout);

    /**
     * poll(2) of one fd asking for nothing: the one way POSIX offers to see a socket's error or
     * hang-up (POLLERR, POLLHUP, always reported) without consuming it; select(2) has no such bit.
     *
     * @param fds {@code nfds} {@code struct pollfd}s in direct memory
     * @param nfds the number of entries
     * @param timeoutMillis the longest wait; 0 for none
     * @return the number of entries with events, 0 if none, or -1 with errno set
     */
    int poll(Pointer fds, @size_t long nfds, int timeoutMillis);
}
