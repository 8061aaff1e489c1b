package io.polyplex.select;

import jnr.ffi.Pointer;
import jnr.ffi.types.size_t;

/**
 * select(2), bound with jnr-ffi. Only primitives and direct-memory pointers, so the call takes
 * jnr-ffi's fastest path: the sets and the timeval are native memory the backend owns for its whole
 * life. A null {@code timeout} waits without limit.
 */
public interface SelectLibrary {

    int select(int nfds, Pointer readfds, Pointer writefds, Pointer exceptfds, Pointer timeout);

    /**
     * poll(2) of one fd asking for nothing: the one way POSIX offers to see a socket's error or
     * hang-up (POLLERR, POLLHUP, always reported) without consuming it; select(2) has no such bit.
     */
    int poll(Pointer fds, @size_t long nfds, int timeoutMillis);
}
