package io.polyplex;

import java.nio.channels.AsynchronousCloseException;

/**
 * Thrown to a thread waiting in a {@link ParkingPoller} (directly, or inside a blocking call of
 * {@link io.polyplex.net.BlockingSockets} or {@link io.polyplex.net.BlockingAcceptor}) when the
 * service is closed, and to every wait made after that.
 *
 * <p>An {@link java.io.IOException}, as the JDK's blocking sockets report a close that ends an I/O
 * operation ({@link AsynchronousCloseException}): a reader with the usual {@code catch (IOException
 * e)} ends cleanly on shutdown. The channel itself is not closed (the service never closes its
 * callers' fds); what was closed is the part the thread was blocked on, which is what {@code
 * AsynchronousCloseException} also covers. Catch this type to tell a shutdown from a closed
 * connection. (A closed {@link EventQueue}, whose use after close is a programming error or a
 * shutdown in progress, still throws the unchecked {@link ClosedEventQueueException}, like a closed
 * {@code java.nio.channels.Selector}.)
 */
public class ClosedParkingPollerException extends AsynchronousCloseException {

    private static final long serialVersionUID = 1L;

    /** Creates one; its message says that the ParkingPoller was closed. */
    public ClosedParkingPollerException() {
    }

    @Override
    public String getMessage() {
        return "the ParkingPoller was closed";
    }
}
