package io.polyplex.spi;

import java.io.IOException;

/**
 * One kernel readiness object (an epoll fd, a kqueue fd, a poll/select interest set), driven by
 * core. It speaks fds, interest bits and tokens only.
 *
 * <h2>What core promises</h2>
 * <ul>
 *   <li>{@link #register}, {@link #reregister} and {@link #deregister} are called under one core
 *       lock, so never concurrently with each other, but concurrently with {@link #poll} from
 *       another thread. {@link #register} is only called for an fd core believes is not in the
 *       kernel set, {@link #reregister} and {@link #deregister} for one it believes is (the caller
 *       may have closed it since: a backend reports what the kernel says).
 *   <li>{@link #poll}, {@link #readyToken}, {@link #readyOps} and {@link #close} are called by one
 *       thread at a time (core's poll lock). {@code close} is called once, when no thread is in
 *       {@code poll}, and after it nothing else.
 *   <li>{@code ops} passed in is a non-empty combination of {@link #READ} and {@link #WRITE}.
 * </ul>
 *
 * <h2>What a backend promises</h2>
 * <ul>
 *   <li>A change is visible to a {@code poll} already blocked in another thread, either because the
 *       kernel applies it there (epoll, kqueue) or because {@link #changesNeedWakeup()} is true and
 *       core then wakes the waiter through the self-pipe so that it rebuilds its sets.
 *   <li>Each ready event carries the token given at (re)registration and ready bits: {@link #READ},
 *       {@link #WRITE}, {@link #PEER_CLOSED}, {@link #ERROR}, or {@link #INVALID} for an fd the
 *       kernel says is no longer open (select's EBADF, poll's POLLNVAL). Core masks them with the
 *       socket's enabled interest; a backend need not.
 *   <li>Failures are {@link io.polyplex.NativeIOException}s naming the call, the fd and the errno.
 *       A failed call changes nothing; where the kernel cannot promise that (a kqueue changelist
 *       is applied change by change), the backend puts back what was there, and if even that fails
 *       it removes the fd and throws {@link RegistrationLostException}.
 *   <li>Opens every fd close-on-exec and closes each exactly once in {@link #close}.
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** Interest and ready bit: readable. The same value as {@link io.polyplex.SocketEvent#READ}. */
    int READ = io.polyplex.SocketEvent.READ;
    /**
     * Interest and ready bit: writable. The same value as {@link io.polyplex.SocketEvent#WRITE}.
     */
    int WRITE = io.polyplex.SocketEvent.WRITE;
    /**
     * Ready bit only: the peer closed or shut down its write side. The same value as {@link
     * io.polyplex.SocketEvent#PEER_CLOSED}.
     */
    int PEER_CLOSED = io.polyplex.SocketEvent.PEER_CLOSED;
    /**
     * Ready bit only: the socket has a pending error. The same value as {@link
     * io.polyplex.SocketEvent#ERROR}.
     */
    int ERROR = io.polyplex.SocketEvent.ERROR;
    /** The fd was closed while registered; core reports it once as ERROR and forgets it. */
    int INVALID = 1 << 4;

    /**
     * Trigger mode passed with a registration: level-triggered; {@link io.polyplex.Trigger#LEVEL}'s
     * ordinal. Every backend has it.
     */
    int LEVEL = 0;
    /**
     * Trigger mode: edge-triggered; {@link io.polyplex.Trigger#EDGE}'s ordinal. Passed only to a
     * backend whose provider announces {@link io.polyplex.Capability#EDGE_TRIGGERED}.
     */
    int EDGE = 1;
    /**
     * Trigger mode: one-shot; {@link io.polyplex.Trigger#ONE_SHOT}'s ordinal. Passed only to a
     * backend whose provider announces {@link io.polyplex.Capability#ONE_SHOT}; for the others core
     * emulates it over {@link #LEVEL}.
     */
    int ONE_SHOT = 2;

    /**
     * Adds {@code fd} to the kernel set with the given interest.
     *
     * @param fd the fd to watch; it stays the caller's, and the backend never closes it
     * @param token the value to report with each of this fd's events until the next change
     * @param ops the directions to watch (non-empty)
     * @param trigger {@link #LEVEL}, {@link #EDGE} or {@link #ONE_SHOT}
     * @throws IOException if the kernel refuses (a {@link io.polyplex.NativeIOException}); nothing
     *     is registered then
     */
    void register(int fd, long token, int ops, int trigger) throws IOException;

    /**
     * Replaces the interest of an fd in the kernel set; also re-arms a one-shot registration that
     * has fired. Core says what it asked for last time, so a backend whose kernel cannot change a
     * registration in place can change only what differs, and put back what was there if the change
     * fails (kqueue fixes EV_CLEAR and EV_DISPATCH when a knote is created: a new trigger is a delete
     * and an add).
     *
     * @param fd an fd registered with this backend
     * @param token the value to report with this fd's events from now on
     * @param ops the directions to watch now (non-empty)
     * @param trigger the trigger mode now
     * @param oldOps the directions the last change asked the kernel to watch: 0 for a native one-shot
     *     that fired since (it is in the set, disarmed)
     * @param oldTrigger the trigger mode of the last change
     * @throws RegistrationLostException if the change failed and the old registration could not be
     *     put back either: the fd is then in no kernel set, and core forgets the socket
     * @throws IOException if the change failed and the old registration is in place (a {@link
     *     io.polyplex.NativeIOException})
     */
    void reregister(int fd, long token, int ops, int trigger, int oldOps, int oldTrigger) throws IOException;

    /**
     * Removes {@code fd} from the kernel set. An fd the kernel no longer knows (closed by the caller:
     * EBADF, ENOENT) is not an error: it is gone, which is what was asked. If the kernel refuses part
     * of the removal, the backend puts back what it removed and throws; {@link
     * RegistrationLostException} here means it could not, and removed the rest instead, so the fd is
     * out of the set after all (core takes that as done).
     *
     * @param fd an fd registered with this backend; the backend does not close it
     * @param token the token the fd is registered with (to put back a partial removal)
     * @param oldOps the directions the last change asked the kernel to watch (see {@link #reregister})
     * @param oldTrigger the trigger mode of the last change
     * @throws RegistrationLostException if a partial removal could not be put back, so the rest was
     *     removed too: the fd is out of the set
     * @throws IOException if the kernel refused the removal and the registration is as it was (a
     *     {@link io.polyplex.NativeIOException})
     */
    void deregister(int fd, long token, int oldOps, int oldTrigger) throws IOException;

    /**
     * Waits for at most {@code timeoutNanos} (negative: no limit; 0: do not block), rounding up to
     * the kernel's unit, and returns the number of ready events, 0 on timeout. A transient errno
     * (EINTR, EAGAIN) returns 0: core retries with the time that remains.
     *
     * @param timeoutNanos the longest wait in nanoseconds; negative for no limit, 0 for none
     * @return the number of ready events, at most the {@code maxEvents} the backend was opened with
     * @throws IOException if the wait fails for another reason (a {@link
     *     io.polyplex.NativeIOException})
     */
    int poll(long timeoutNanos) throws IOException;

    /**
     * The token of a ready event of the last {@link #poll}.
     *
     * @param i the event's index, from 0 to the count that poll returned, exclusive
     * @return the token given at the fd's (re)registration
     */
    long readyToken(int i);

    /**
     * The ready bits of an event of the last {@link #poll}.
     *
     * @param i the event's index, from 0 to the count that poll returned, exclusive
     * @return a combination of {@link #READ}, {@link #WRITE}, {@link #PEER_CLOSED}, {@link #ERROR}
     *     and {@link #INVALID}
     */
    int readyOps(int i);

    /**
     * A file descriptor that is readable whenever a {@link #poll} with no wait would report an event
     * (epoll's own fd is: Linux {@code ep_eventpoll_poll}), so that another queue can watch this one
     * and a poller need not block in {@link #poll}: {@link io.polyplex.ParkingPoller} runs its
     * pollers as virtual threads that way. The fd stays the backend's; nobody else closes it.
     *
     * @return the fd, or -1 if the backend has none (poll and select keep their sets in memory) or
     *     does not offer it
     */
    default int pollableFd() {
        return -1;
    }

    /**
     * Whether a change made while another thread is blocked in {@link #poll} needs a wakeup to
     * take effect there (true for poll/select, which pass a copy of their sets to the kernel).
     *
     * @return true if so; core asks once, when it opens the queue
     */
    boolean changesNeedWakeup();

    /** Releases the kernel object and any native memory, closing every fd the backend opened. */
    @Override
    void close();
}
