package io.polyplex.internal;

import io.polyplex.SocketEvent;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Tells whether a readable socket's peer has closed, without consuming data: {@code recv(fd, 1 byte,
 * MSG_PEEK | MSG_DONTWAIT)} returns 0 only at end of stream, and leaves any byte it sees in the
 * socket. Used for backends whose kernel interface has no peer-closed flag (select, and poll where
 * POLLRDHUP is missing); one system call per readable event is its price.
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

    private final LibC libc;
    private final Pointer oneByte = Memory.allocateDirect(LibC.RUNTIME, 1, false);

    PeerProbe(LibC libc) {
        this.libc = libc;
    }

    /**
     * The extra bits for a readable {@code fd}: {@link SocketEvent#PEER_CLOSED} at end of stream,
     * plus {@link SocketEvent#ERROR} if the socket has an error; 0 if data is waiting, the readiness
     * was spurious, or the fd is no socket (a pipe: its end of stream shows as a plain READ).
     */
    int probe(int fd) {
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

    /** Errors recv reports from the socket's pending error: the connection is dead. */
    private static boolean peerGone(int errno) {
        return errno == ECONNRESET || errno == ETIMEDOUT || errno == EPIPE || errno == ECONNREFUSED
                || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == ECONNABORTED || errno == ENETRESET
                || errno == EHOSTDOWN || errno == ENETDOWN;
    }
}
