package io.polyplex.epoll;

import jnr.ffi.Pointer;

/**
 * The epoll system calls, bound with jnr-ffi. Only primitives and direct-memory pointers, so every
 * call takes jnr-ffi's fastest path. The seam a test could substitute; production always loads libc.
 */
public interface EpollLibrary {

    int epoll_create1(int flags);

    int epoll_ctl(int epfd, int op, int fd, Pointer event);

    int epoll_wait(int epfd, Pointer events, int maxevents, int timeoutMillis);

    int close(int fd);
}
