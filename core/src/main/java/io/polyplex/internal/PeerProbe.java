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

    private final LibC libc = LibC.INSTANCE;
    private final Pointer oneByte = Memory.allocateDirect(LibC.RUNTIME, 1, false);

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
        if (NativeErrors.wouldBlock(errno) || errno == NativeErrors.EINTR || errno == NativeErrors.ENOTSOCK
                || errno == NativeErrors.EBADF) {
            return 0;
        }
        return SocketEvent.PEER_CLOSED | SocketEvent.ERROR; // ECONNRESET, ETIMEDOUT, ...
    }
}
