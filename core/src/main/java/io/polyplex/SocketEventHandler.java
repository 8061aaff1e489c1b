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
     * <p>Why this declares no {@link java.io.IOException}: an I/O error in a handler belongs to one
     * connection (a reset, a full disk behind a file), and the right response is to close that
     * connection and go on serving the others. Were the handler allowed to throw it, the easy path
     * would carry one client's reset out of {@code poll}, ending the loop for every connection and
     * dropping the rest of the batch, which with {@link Trigger#EDGE} or {@link Trigger#ONE_SHOT} is
     * not reported again. So a handler catches {@code IOException} around its reads and writes and
     * closes the connection, as the README's echo server does; it may still throw an unchecked
     * exception to stop the loop on purpose.
     *
     * @param socket the ready socket, as it was subscribed
     * @param readyOps a combination of {@link SocketEvent#READ}, {@link SocketEvent#WRITE}, {@link
     *     SocketEvent#PEER_CLOSED} and {@link SocketEvent#ERROR}
     */
    void onEvent(S socket, int readyOps);
}
