package io.polyplex.poll;

import jnr.ffi.Pointer;

/**
 * poll(2), bound with jnr-ffi. {@code nfds_t} is unsigned long on Linux and unsigned int on macOS and
 * the BSDs; it is passed in a 64-bit register on every 64-bit ABI, where the callee reads the width
 * it expects, so one {@code long} parameter serves both.
 */
public interface PollLibrary {

    int poll(Pointer fds, long nfds, int timeoutMillis);
}
