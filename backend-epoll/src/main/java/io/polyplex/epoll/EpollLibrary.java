package io.polyplex.epoll;

import jnr.ffi.Pointer;

/**
 * The epoll system calls, bound with jnr-ffi. Only primitives and direct-memory pointers, so every
 * call takes jnr-ffi's fastest path. The seam a test could substitute; production always loads libc.
 */
public interface EpollLibrary {

    /**
     * epoll_create1(2).
     *
     * @param flags EPOLL_CLOEXEC or 0
     * @return the new epoll fd, which the caller owns, or -1 with errno set
     */
    int epoll_create1(int flags);

    /**
     * epoll_ctl(2).
     *
     * @param epfd the epoll fd
     * @param op EPOLL_CTL_ADD, EPOLL_CTL_MOD or EPOLL_CTL_DEL
     * @param fd the fd to add, change or remove; it stays the caller's
     * @param event one {@code struct epoll_event} in direct memory
     * @return 0, or -1 with errno set
     */
    int epoll_ctl(int epfd, int op, int fd, Pointer event);

    /**
     * epoll_wait(2).
     *
     * @param epfd the epoll fd
     * @param events direct memory for {@code maxevents} {@code struct epoll_event}s
     * @param maxevents the most events to return
     * @param timeoutMillis the longest wait; -1 for no limit, 0 for none
     * @return the number of events written, 0 on timeout, or -1 with errno set
     */
    int epoll_wait(int epfd, Pointer events, int maxevents, int timeoutMillis);

    /**
     * close(2).
     *
     * @param fd the fd to close
     * @return 0, or -1 with errno set
     */
    int close(int fd);
}
