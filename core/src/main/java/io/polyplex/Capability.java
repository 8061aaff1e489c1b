package io.polyplex;

/** What a backend offers beyond level-triggered readiness; see {@link EventQueue#capabilities()}. */
public enum Capability {
    /** {@link Trigger#EDGE} is available (epoll EPOLLET, kqueue EV_CLEAR). */
    EDGE_TRIGGERED,
    /** {@link Trigger#ONE_SHOT} is available (natively, or emulated by disabling after delivery). */
    ONE_SHOT,
    /**
     * The kernel itself reports a peer's close (EPOLLRDHUP, EV_EOF, POLLRDHUP). Without it the queue
     * probes a readable socket with {@code recv(MSG_PEEK|MSG_DONTWAIT)}, which costs a system call
     * per readable event; the reported events are the same either way.
     */
    KERNEL_PEER_CLOSED,
    /** Any fd number the process can open can be watched (select is limited to FD_SETSIZE). */
    UNLIMITED_FDS,
    /** A wait costs time in proportion to the ready sockets, not the watched ones. */
    SCALABLE
}
