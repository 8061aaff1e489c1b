package io.polyplex;

/**
 * Receives the events of one {@link EventQueue#poll(java.time.Duration, SocketEventHandler)} call,
 * on the polling thread, one call per ready socket. It may call any method of the queue but {@code
 * poll}. Passing the same handler instance to every poll keeps the hot path free of allocation.
 *
 * @param <S> the caller's socket type
 */
@FunctionalInterface
public interface SocketEventHandler<S> {

    /**
     * Handles one ready socket. An exception thrown here propagates out of {@code poll}, and the
     * events of the batch not yet handed over are dropped.
     *
     * @param socket the ready socket, as it was subscribed
     * @param readyOps a combination of {@link SocketEvent#READ}, {@link SocketEvent#WRITE}, {@link
     *     SocketEvent#PEER_CLOSED} and {@link SocketEvent#ERROR}
     */
    void onEvent(S socket, int readyOps);
}
