package io.polyplex;

/** What a backend offers beyond level-triggered readiness; see {@link EventQueue#capabilities()}. */
public enum Capability {
    /** {@link Trigger#EDGE} is available (epoll EPOLLET, kqueue EV_CLEAR). */
    EDGE_TRIGGERED,
    /** {@link Trigger#ONE_SHOT} is available (natively, or emulated by disabling after delivery). */
    ONE_SHOT,
    /**
     * The kernel itself reports a peer's close (EPOLLRDHUP, EV_EOF, POLLRDHUP), even while data sent
     * before the close is still unread. Without it the queue probes each readable socket with {@code
     * recv(MSG_PEEK|MSG_DONTWAIT)}, which consumes no data but can only see the close once the data
     * before it has been read; and when the probe finds a socket error (a reset) it reports ERROR,
     * and the error, being read by the probe, no longer fails the handler's next read, which sees
     * the end of stream instead. Its price: where poll(2) has POLLRDHUP (Linux), one poll(2) per
     * wait over the readable sockets, and a recv only for those it flags as shut down or in error;
     * elsewhere one recv per readable event.
     */
    KERNEL_PEER_CLOSED,
    /** Any fd number the process can open can be watched (select is limited to FD_SETSIZE). */
    UNLIMITED_FDS,
    /** A wait costs time in proportion to the ready sockets, not the watched ones. */
    SCALABLE
}
