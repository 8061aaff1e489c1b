package io.polyplex.internal;

import io.polyplex.ParkingPoller;
import java.io.IOException;

/**
 * What {@code io.polyplex.net.BlockingSockets} needs of a {@link ParkingPoller} beyond its public
 * API: to count its system calls on an fd as uses of the number ({@link FdUseTable}), so that a
 * close made through the service never releases a number while such a call may still be using it.
 * Not an API: the service installs the one implementation when its class is initialised ({@link
 * #get()} makes sure it has been).
 */
public interface ParkingAccess {

    /**
     * Counts one system call on {@code fd} in, after checking that the fd may still be used.
     *
     * @param poller the service the operation parks in
     * @param fd the fd number
     * @param owner the channel the operation is made for (its identity and {@code isOpen()} are
     *     checked), or null for a raw fd
     * @param epoch {@link FdUseTable#ANY_EPOCH} for the operation's first system call, else what
     *     that first call's {@code enter} returned (the fd must not have been closed since)
     * @param started whether the operation was already under way (a refusal is then an {@link
     *     java.nio.channels.AsynchronousCloseException}, else a {@link
     *     java.nio.channels.ClosedChannelException} for a channel that was closed before it began)
     * @return the fd's epoch, to pass to the operation's later calls
     * @throws java.nio.channels.ClosedChannelException if the channel is closed, or its fd is being
     *     or was closed through the service
     */
    long enter(ParkingPoller poller, int fd, Object owner, long epoch, boolean started) throws IOException;

    /**
     * Counts the system call out again.
     *
     * @param poller the service given to {@link #enter}
     * @param fd the fd given to {@link #enter}
     */
    void exit(ParkingPoller poller, int fd);

    /**
     * Parks as {@code awaitReadable}/{@code awaitWritable} do, for an operation under way: a close
     * of the fd through the service since {@code epoch} ends it with {@link
     * java.nio.channels.AsynchronousCloseException}, even for a raw fd whose number is open again.
     *
     * @param poller the service
     * @param fd the fd number
     * @param owner the channel, or null for a raw fd
     * @param direction {@code SocketEvent.READ} or {@code SocketEvent.WRITE}
     * @param timeout the longest wait, null for none
     * @param epoch what the operation's first {@link #enter} returned
     * @return as {@link ParkingPoller#awaitReadable(int, java.time.Duration)}
     * @throws IOException as there, and AsynchronousCloseException as above
     */
    int await(ParkingPoller poller, int fd, Object owner, int direction, java.time.Duration timeout, long epoch)
            throws IOException;

    /**
     * The fd's epoch now, for an operation that waits through {@link #await} without counting
     * system calls in ({@code BlockingAcceptor}, which keeps its own count).
     *
     * @param poller the service
     * @param fd the fd number
     * @return the epoch to pass to {@link #await}
     */
    long epoch(ParkingPoller poller, int fd);

    /**
     * Ends every wait on {@code fd}, with {@link
     * java.nio.channels.AsynchronousCloseException}, and every later wait passing an earlier epoch,
     * without closing the fd: what {@code BlockingAcceptor.shutdown()} does on a service it shares.
     *
     * @param poller the service
     * @param fd the fd number
     */
    void revoke(ParkingPoller poller, int fd);

    /**
     * The one implementation.
     *
     * @return what {@link ParkingPoller} installed
     */
    static ParkingAccess get() {
        ParkingAccess a = Holder.instance;
        if (a == null) {
            // Whatever touched us first, the service's class installs the one implementation when
            // it is initialised: make sure it has been.
            try {
                Class.forName(ParkingPoller.class.getName(), true, ParkingPoller.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
            a = Holder.instance;
        }
        return a;
    }

    /**
     * Installs the implementation; {@link ParkingPoller} calls this once, from its static
     * initialiser.
     *
     * @param access the implementation
     */
    static void set(ParkingAccess access) {
        if (Holder.instance != null) {
            throw new IllegalStateException("already set");
        }
        Holder.instance = access;
    }

    /** Where the implementation lives. */
    final class Holder {
        static volatile ParkingAccess instance;

        private Holder() {
        }
    }
}
