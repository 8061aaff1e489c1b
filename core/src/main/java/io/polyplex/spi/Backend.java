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

    int READ = io.polyplex.SocketEvent.READ;
    int WRITE = io.polyplex.SocketEvent.WRITE;
    int PEER_CLOSED = io.polyplex.SocketEvent.PEER_CLOSED;
    int ERROR = io.polyplex.SocketEvent.ERROR;
    /** The fd was closed while registered; core reports it once as ERROR and forgets it. */
    int INVALID = 1 << 4;

    /** Trigger mode passed with a registration; the values of {@link io.polyplex.Trigger}'s ordinals. */
    int LEVEL = 0;
    int EDGE = 1;
    int ONE_SHOT = 2;

    /** Adds {@code fd} to the kernel set with the given interest. */
    void register(int fd, long token, int ops, int trigger) throws IOException;

    /**
     * Replaces the interest of an fd in the kernel set; also re-arms a one-shot registration that
     * has fired. Core says what it asked for last time, so a backend whose kernel cannot change a
     * registration in place can change only what differs, and put back what was there if the change
     * fails (kqueue fixes EV_CLEAR and EV_DISPATCH when a knote is created: a new trigger is a delete
     * and an add).
     *
     * @param ops the directions to watch now (non-empty)
     * @param trigger the trigger mode now
     * @param oldOps the directions the last change asked the kernel to watch: 0 for a native one-shot
     *     that fired since (it is in the set, disarmed)
     * @param oldTrigger the trigger mode of the last change
     * @throws RegistrationLostException if the change failed and the old registration could not be
     *     put back either: the fd is then in no kernel set, and core forgets the socket
     */
    void reregister(int fd, long token, int ops, int trigger, int oldOps, int oldTrigger) throws IOException;

    /**
     * Removes {@code fd} from the kernel set. An fd the kernel no longer knows (closed by the caller:
     * EBADF, ENOENT) is not an error: it is gone, which is what was asked. If the kernel refuses part
     * of the removal, the backend puts back what it removed and throws; {@link
     * RegistrationLostException} here means it could not, and removed the rest instead, so the fd is
     * out of the set after all (core takes that as done).
     *
     * @param token the token the fd is registered with (to put back a partial removal)
     * @param oldOps the directions the last change asked the kernel to watch (see {@link #reregister})
     * @param oldTrigger the trigger mode of the last change
     */
    void deregister(int fd, long token, int oldOps, int oldTrigger) throws IOException;

    /**
     * Waits for at most {@code timeoutNanos} (negative: no limit; 0: do not block), rounding up to
     * the kernel's unit, and returns the number of ready events, 0 on timeout. A transient errno
     * (EINTR, EAGAIN) returns 0: core retries with the time that remains.
     */
    int poll(long timeoutNanos) throws IOException;

    /** The token of ready event {@code i} of the last {@link #poll}. */
    long readyToken(int i);

    /** The ready bits of event {@code i} of the last {@link #poll}. */
    int readyOps(int i);

    /**
     * Whether a change made while another thread is blocked in {@link #poll} needs a wakeup to
     * take effect there (true for poll/select, which pass a copy of their sets to the kernel).
     */
    boolean changesNeedWakeup();

    /** Releases the kernel object and any native memory. */
    @Override
    void close();
}
