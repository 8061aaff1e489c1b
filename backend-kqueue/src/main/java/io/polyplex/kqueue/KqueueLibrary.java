package io.polyplex.kqueue;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.Variadic;

/**
 * kqueue(2) and kevent(2), bound with jnr-ffi: the seam a test substitutes (a Mockito mock that
 * checks the exact changelist bytes); production always binds libc. Only primitives and
 * direct-memory pointers, so every call takes jnr-ffi's fastest path.
 */
public interface KqueueLibrary {

    int kqueue();

    int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout);

    /** Variadic in C ({@code int fcntl(int, int, ...)}); Apple arm64 passes the third argument on the stack. */
    @Variadic(fixedCount = 2)
    int fcntl(int fd, int cmd, int arg);

    int close(int fd);
}
