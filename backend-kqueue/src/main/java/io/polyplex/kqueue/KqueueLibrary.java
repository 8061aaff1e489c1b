package io.polyplex.kqueue;

import jnr.ffi.Pointer;

/**
 * kqueue(2) and kevent(2), bound with jnr-ffi: the seam a test substitutes (a Mockito mock that
 * checks the exact changelist bytes); production always binds libc. Only primitives and
 * direct-memory pointers, so every call takes jnr-ffi's fastest path.
 */
public interface KqueueLibrary {

    int kqueue();

    int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout);

    int fcntl(int fd, int cmd, int arg);

    int close(int fd);
}
