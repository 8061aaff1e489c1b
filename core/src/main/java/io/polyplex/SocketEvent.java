package io.polyplex;

import java.util.Objects;

/**
 * One ready socket, as returned by {@link EventQueue#poll(java.time.Duration)}.
 *
 * <p>READ and WRITE only ever appear for directions that are subscribed and enabled. PEER_CLOSED
 * means the peer closed or shut down its write side (an end of stream is waiting behind any data
 * still unread, which stays readable); ERROR means the socket has a pending error (a reset, a
 * refused connect). Both come with the enabled directions set, so a handler that reads or writes
 * sees the condition through its normal path.
 *
 * @param socket the ready socket
 * @param readyOps a combination of {@link #READ}, {@link #WRITE}, {@link #PEER_CLOSED}, {@link
 *     #ERROR}
 * @param <S> the caller's socket type
 */
public record SocketEvent<S>(S socket, int readyOps) {

    /** Readable: data, an end of stream, or an error is waiting. Also an interest bit. */
    public static final int READ = 1;
    /** Writable: there is room in the send buffer (or an error). Also an interest bit. */
    public static final int WRITE = 1 << 1;
    /** The peer closed or shut down its write side; unread data is still readable. */
    public static final int PEER_CLOSED = 1 << 2;
    /** The socket has a pending error (reset, refused, ...). */
    public static final int ERROR = 1 << 3;

    /** Every bit a ready event can carry. */
    public static final int ALL = READ | WRITE | PEER_CLOSED | ERROR;

    /**
     * Checks the components.
     *
     * @param socket the ready socket
     * @param readyOps a combination of {@link #READ}, {@link #WRITE}, {@link #PEER_CLOSED} and
     *     {@link #ERROR}
     * @throws NullPointerException if {@code socket} is null
     * @throws IllegalArgumentException if {@code readyOps} has a bit outside {@link #ALL}
     */
    public SocketEvent {
        Objects.requireNonNull(socket, "socket");
        if ((readyOps & ~ALL) != 0) {
            throw new IllegalArgumentException("unknown readyOps bits: 0x" + Integer.toHexString(readyOps));
        }
    }

    /**
     * Whether {@link #READ} is set.
     *
     * @return true if the socket is readable (data, end of stream or an error is waiting)
     */
    public boolean isReadable() {
        return (readyOps & READ) != 0;
    }

    /**
     * Whether {@link #WRITE} is set.
     *
     * @return true if the socket is writable (room in the send buffer, or an error)
     */
    public boolean isWritable() {
        return (readyOps & WRITE) != 0;
    }

    /**
     * Whether {@link #PEER_CLOSED} is set.
     *
     * @return true if the peer closed or shut down its write side; data it sent before may still be
     *     unread
     */
    public boolean isPeerClosed() {
        return (readyOps & PEER_CLOSED) != 0;
    }

    /**
     * Whether {@link #ERROR} is set.
     *
     * @return true if the socket has a pending error, which its next read or write reports
     */
    public boolean isError() {
        return (readyOps & ERROR) != 0;
    }

    /**
     * A readable form of an ops combination, for messages and logs.
     *
     * @param ops any combination of bits; unknown ones are shown in hexadecimal
     * @return e.g. {@code "READ|PEER_CLOSED"}; {@code "0"} if {@code ops} is 0
     */
    public static String opsToString(int ops) {
        StringBuilder b = new StringBuilder();
        if ((ops & READ) != 0) b.append("READ|");
        if ((ops & WRITE) != 0) b.append("WRITE|");
        if ((ops & PEER_CLOSED) != 0) b.append("PEER_CLOSED|");
        if ((ops & ERROR) != 0) b.append("ERROR|");
        if ((ops & ~ALL) != 0) b.append("0x").append(Integer.toHexString(ops & ~ALL)).append('|');
        return b.length() == 0 ? "0" : b.substring(0, b.length() - 1);
    }

    @Override
    public String toString() {
        return "SocketEvent[" + socket + ", " + opsToString(readyOps) + "]";
    }
}
