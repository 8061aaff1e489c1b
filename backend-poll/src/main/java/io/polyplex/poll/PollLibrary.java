package io.polyplex.poll;

import jnr.ffi.Pointer;
import jnr.ffi.types.size_t;

/**
 * poll(2), bound with jnr-ffi: only primitives and a direct-memory pointer, so the call takes
 * jnr-ffi's fastest path. {@code nfds_t} is {@code unsigned long} on Linux and Solaris and
 * {@code unsigned int} on macOS and the BSDs; passing it as {@code size_t} gives the right width
 * on every 32-bit ABI, and on 64-bit ones it travels in a register whose low half an
 * {@code unsigned int} callee reads.
 */
public interface PollLibrary {

    /**
     * poll(2).
     *
     * @param fds {@code nfds} {@code struct pollfd}s in direct memory
     * @param nfds the number of entries
     * @param timeoutMillis the longest wait; negative for no limit, 0 for none
     * @return the number of entries with events, 0 on timeout, or -1 with errno set
     */
    int poll(Pointer fds, @size_t long nfds, int timeoutMillis);
}
