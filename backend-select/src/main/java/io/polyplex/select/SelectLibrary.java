package io.polyplex.select;

import jnr.ffi.Pointer;

/**
 * select(2), bound with jnr-ffi. Only primitives and direct-memory pointers, so the call takes
 * jnr-ffi's fastest path: the sets and the timeval are native memory the backend owns for its whole
 * life. A null {@code timeout} waits without limit.
 */
public interface SelectLibrary {

    int select(int nfds, Pointer readfds, Pointer writefds, Pointer exceptfds, Pointer timeout);
}
