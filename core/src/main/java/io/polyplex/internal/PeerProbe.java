package io.polyplex.internal;

import io.polyplex.SocketEvent;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Tells whether a readable socket's peer has closed, without consuming data, for backends whose
 * kernel interface has no peer-closed flag (select, and poll where POLLRDHUP is missing).
 *
 * <p>The answer is {@code recv(fd, 1 byte, MSG_PEEK | MSG_DONTWAIT)}: it returns 0 only at end of
 * stream, leaves any byte it sees in the socket, and fails with the socket's pending error (a
 * reset). On Linux that recv also clears the error, MSG_PEEK or not ({@code tcp_recvmsg} and
 * {@code unix_stream_read_generic} take it with {@code sock_error}), which would leave the
 * handler's own read a clean end of stream; XNU's and OpenBSD's {@code soreceive} clear {@code
 * so_error} only without MSG_PEEK. So where the batched poll below shows an error (POLLERR), the
 * answer is given without a recv. What differs is how often it is asked:
 * <ul>
 *   <li><b>Batched</b>, where poll(2) has POLLRDHUP (Linux): before a batch is delivered, {@link
 *       #prepare} makes <em>one</em> {@code poll(2)} with a zero timeout over every entry that will
 *       be probed, asking for POLLIN|POLLRDHUP. A socket for which that answers none of POLLRDHUP,
 *       POLLHUP, POLLERR or POLLNVAL cannot make recv return an end of stream or a pending error
 *       (Linux's {@code tcp_poll}, {@code unix_poll} and {@code datagram_poll} set POLLRDHUP for
 *       every receive shutdown, POLLHUP when both directions are shut, POLLERR for every pending
 *       {@code sk_err}), so it gets no system call of its own. Only a flagged one, rare by nature
 *       (a connection ends once), is then asked with recv as below, at its turn in the batch (one
 *       in error, POLLERR, is answered PEER_CLOSED and ERROR at once, keeping its error): so
 *       the answer, and the socket error it clears, are those of the per-event probe, including
 *       "the close is seen only once the data before it has been read" (POLLRDHUP is raised while
 *       data is still queued, and is never reported as PEER_CLOSED on its own). A healthy batch
 *       costs one system call per wait instead of one per readable event. One difference: a
 *       zero-length datagram, which recv also answers with 0, raises no POLLRDHUP, so it is no
 *       longer mistaken for a peer's close. If the poll fails, the batch falls back to the
 *       per-event probe.
 *   <li><b>Per event</b>, everywhere else: one recv per readable event.
 * </ul>
 *
 * <p>Why this lives in core and not in the select backend: peer-close detection is a promise of
 * the queue, kept for any backend that lacks {@code KERNEL_PEER_CLOSED}, and deciding what to
 * report from the socket's state is interest-state logic, not a translation of the backend's
 * wait into system calls. Whether the batch can be used depends on the OS (POLLRDHUP in {@link
 * OsConstants}), not on the backend; core's {@link LibC} already binds poll(2), so its calls go
 * through the same seam as core's other calls (fault injection, call counting); and the {@code
 * Backend} SPI stays as it was. The select backend itself still makes only select(2) and its
 * POSIX poll(2) of one fd, so its "any POSIX system" promise is untouched: the Linux-only flag is
 * used only where {@code pollRdhup} says it exists.
 *
 * <p>Allocates nothing per call: the {@code struct pollfd} array is direct memory, allocated once
 * and grown (doubling, up to the queue's batch size) only when a larger batch first appears.
 *
 * <p>Not thread-safe: one instance per queue, used under its poll lock.
 */
final class PeerProbe {

    private static final int MSG_PEEK = OsConstants.CURRENT.msgPeek();
    private static final int MSG_DONTWAIT = OsConstants.CURRENT.msgDontwait();

    private static final int ECONNRESET = jnr.constants.platform.Errno.ECONNRESET.intValue();
    private static final int ETIMEDOUT = jnr.constants.platform.Errno.ETIMEDOUT.intValue();
    private static final int EPIPE = jnr.constants.platform.Errno.EPIPE.intValue();
    private static final int ECONNREFUSED = jnr.constants.platform.Errno.ECONNREFUSED.intValue();
    private static final int EHOSTUNREACH = jnr.constants.platform.Errno.EHOSTUNREACH.intValue();
    private static final int ENETUNREACH = jnr.constants.platform.Errno.ENETUNREACH.intValue();
    private static final int ECONNABORTED = jnr.constants.platform.Errno.ECONNABORTED.intValue();
    private static final int ENETRESET = jnr.constants.platform.Errno.ENETRESET.intValue();
    private static final int EHOSTDOWN = jnr.constants.platform.Errno.EHOSTDOWN.intValue();
    private static final int ENETDOWN = jnr.constants.platform.Errno.ENETDOWN.intValue();

    /** poll(2) bits: the same on every POSIX system (kernel-facts.md). */
    static final int POLLIN = 0x1;
    static final int POLLERR = 0x8;
    static final int POLLHUP = 0x10;
    static final int POLLNVAL = 0x20;
    /** {@code struct pollfd {int fd; short events; short revents;}}: 8 bytes everywhere. */
    private static final int POLLFD_SIZE = 8;
    /** The smallest pollfd array allocated, in entries. */
    private static final int INITIAL_CAPACITY = 64;

    private final LibC libc;
    private final Pointer oneByte = Memory.allocateDirect(LibC.RUNTIME, 1, false);

    /** POLLIN|POLLRDHUP for the batched poll; 0 where there is no POLLRDHUP (per-event probe only). */
    private final int pollEvents;
    /** revents that make a socket worth a recv: anything recv could answer 0 or an error for. */
    private final int suspect;
    /** The most entries a batch can have (the queue's event buffer). */
    private final int maxEntries;
    /** The struct pollfd array: a direct buffer in native order, and the same memory as a pointer. */
    private ByteBuffer pollfds;
    private Pointer pollfdsAddress;
    private int capacity;
    /** For each batch entry, its index in {@link #pollfds}, or -1 if it was not polled. */
    private final int[] slot;
    /** Whether the current batch's poll was made and succeeded. */
    private boolean polled;

    /**
     * @param libc the binding for recv and poll
     * @param pollRdhup POLLRDHUP on this OS, or 0 where poll(2) has none: then every readable
     *     event is probed with its own recv
     * @param maxEntries the most entries one batch can have
     */
    PeerProbe(LibC libc, int pollRdhup, int maxEntries) {
        this.libc = libc;
        this.maxEntries = maxEntries;
        if (pollRdhup != 0) {
            this.pollEvents = POLLIN | pollRdhup;
            this.suspect = pollRdhup | POLLHUP | POLLERR | POLLNVAL;
            this.slot = new int[maxEntries];
            ensureCapacity(Math.min(INITIAL_CAPACITY, maxEntries));
        } else {
            this.pollEvents = 0;
            this.suspect = 0;
            this.slot = null;
        }
    }

    /**
     * Called once per batch, before any of it is delivered: where batched, polls every entry that
     * {@link #wants} a probe, all in one call. Entries {@code 0..n-1} of {@code fds} and {@code
     * ops} are the batch.
     *
     * @param fds the batch's fds
     * @param ops the batch's ops as resolved
     * @param n the batch's size
     */
    void prepare(int[] fds, int[] ops, int n) {
        polled = false;
        if (pollEvents == 0) {
            return;
        }
        int k = 0;
        for (int j = 0; j < n; j++) {
            if (wants(ops[j])) {
                slot[j] = k++;
            } else {
                slot[j] = -1;
            }
        }
        if (k == 0) {
            return;
        }
        ensureCapacity(k);
        for (int j = 0; j < n; j++) {
            int at = slot[j];
            if (at >= 0) {
                int off = at * POLLFD_SIZE;
                pollfds.putInt(off, fds[j]);
                pollfds.putShort(off + 4, (short) pollEvents);
                pollfds.putShort(off + 6, (short) 0);
            }
        }
        // Any failure (EINTR, ENOMEM...) only costs this batch the batched path: each entry is then
        // probed with its own recv, as everywhere without POLLRDHUP.
        polled = libc.poll(pollfdsAddress, k, 0) >= 0;
    }

    /**
     * Whether an event with {@code ops} is probed: readable, and not already known closed.
     *
     * @param ops an event's bits
     * @return true if {@link #probe} is to be asked for it
     */
    static boolean wants(int ops) {
        return (ops & (SocketEvent.READ | SocketEvent.PEER_CLOSED)) == SocketEvent.READ;
    }

    /**
     * The extra bits for batch entry {@code entry}, a readable {@code fd}: {@link
     * SocketEvent#PEER_CLOSED} at end of stream, plus {@link SocketEvent#ERROR} if the socket has an
     * error; 0 if data is waiting, the readiness was spurious, or the fd is no socket (a pipe: its
     * end of stream shows as a plain READ).
     *
     * @param entry the entry's index in the batch last {@link #prepare}d
     * @param fd its fd
     * @return the bits to add to its event
     */
    int probe(int entry, int fd) {
        if (polled) {
            int at = slot[entry];
            if (at >= 0) {
                int revents = pollfds.getShort(at * POLLFD_SIZE + 6);
                if ((revents & suspect) == 0) {
                    return 0; // neither shut down nor in error: recv could only see data, or nothing
                }
                if ((revents & POLLERR) != 0) {
                    // In error: say so without recv, which on Linux would read the error and clear
                    // it (tcp_recvmsg's sock_error), leaving the handler's next read a clean end of
                    // stream instead of the ECONNRESET it should see. As epoll says for EPOLLERR.
                    return SocketEvent.PEER_CLOSED | SocketEvent.ERROR;
                }
            }
        }
        return probe(fd);
    }

    /** The per-event probe: one recv(MSG_PEEK | MSG_DONTWAIT) of {@code fd}. */
    int probe(int fd) {
        return peek(libc, oneByte, fd);
    }

    /**
     * One recv(1 byte, MSG_PEEK | MSG_DONTWAIT) of {@code fd}, as the per-event probe makes it.
     *
     * @param libc the binding to call
     * @param oneByte one byte of direct memory the caller owns
     * @param fd a readable fd
     * @return {@link SocketEvent#PEER_CLOSED} at end of stream, with {@link SocketEvent#ERROR} if the
     *     socket has an error; 0 otherwise
     */
    static int peek(LibC libc, Pointer oneByte, int fd) {
        long n = libc.recv(fd, oneByte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) {
            return 0;
        }
        if (n == 0) {
            return SocketEvent.PEER_CLOSED;
        }
        int errno = LibC.errno();
        // Only the errors a socket keeps (so_error) and an end of stream mean the peer is gone;
        // anything else (EINTR, EAGAIN, ENOMEM, ENOTSOCK for a pipe, EBADF for an fd closed since)
        // says nothing about the peer, and the event stays a plain READ.
        return peerGone(errno) ? SocketEvent.PEER_CLOSED | SocketEvent.ERROR : 0;
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) {
            return;
        }
        capacity = Math.max(n, Math.min(capacity * 2, maxEntries));
        pollfds = ByteBuffer.allocateDirect(capacity * POLLFD_SIZE).order(ByteOrder.nativeOrder());
        pollfdsAddress = Pointer.wrap(LibC.RUNTIME, pollfds);
    }

    /** Errors recv reports from the socket's pending error: the connection is dead. */
    private static boolean peerGone(int errno) {
        return errno == ECONNRESET || errno == ETIMEDOUT || errno == EPIPE || errno == ECONNREFUSED
                || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == ECONNABORTED || errno == ENETRESET
                || errno == EHOSTDOWN || errno == ENETDOWN;
    }
}
