package io.polyplex.internal;

import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The BSD socket calls jnr-posix lacks, bound with jnr-ffi (primitives, pointers and buffers). Public
 * only because jnr-ffi generates its implementation in another class loader; not an API.
 */
public interface SocketLibrary {

    // Each call returns what its C function returns: -1 with errno set (read it from RUNTIME) on
    // failure. Addresses and lengths are direct memory the caller owns.

    /**
     * socket(2).
     *
     * @param domain AF_INET, AF_INET6, ...
     * @param type SOCK_STREAM, possibly with SOCK_NONBLOCK and SOCK_CLOEXEC
     * @param protocol 0 for the default
     * @return the new fd, which the caller owns, or -1
     */
    int socket(int domain, int type, int protocol);

    /**
     * socketpair(2).
     *
     * @param domain AF_UNIX
     * @param type SOCK_STREAM, possibly with SOCK_NONBLOCK and SOCK_CLOEXEC
     * @param protocol 0
     * @param fds receives the two connected ends, which the caller owns
     * @return 0, or -1
     */
    int socketpair(int domain, int type, int protocol, @Out int[] fds);

    /**
     * bind(2).
     *
     * @param fd a socket
     * @param addr a {@code sockaddr_in} or {@code sockaddr_in6}
     * @param len its length
     * @return 0, or -1
     */
    int bind(int fd, Pointer addr, int len);

    /**
     * listen(2).
     *
     * @param fd a bound socket
     * @param backlog the most pending connections the kernel is asked to queue
     * @return 0, or -1
     */
    int listen(int fd, int backlog);

    /**
     * connect(2).
     *
     * @param fd a socket
     * @param addr a {@code sockaddr_in} or {@code sockaddr_in6}
     * @param len its length
     * @return 0, or -1 (EINPROGRESS for a non-blocking socket whose connection goes on)
     */
    int connect(int fd, Pointer addr, int len);

    /**
     * accept(2).
     *
     * @param fd a listening socket
     * @param addr receives the peer's address, or null
     * @param len the size of {@code addr}, updated, or null
     * @return the new connection's fd, which the caller owns, or -1
     */
    int accept(int fd, Pointer addr, Pointer len);

    /**
     * accept4(2): Linux and FreeBSD only.
     *
     * @param fd a listening socket
     * @param addr receives the peer's address, or null
     * @param len the size of {@code addr}, updated, or null
     * @param flags SOCK_NONBLOCK and SOCK_CLOEXEC as wanted
     * @return the new connection's fd, which the caller owns, or -1
     */
    int accept4(int fd, Pointer addr, Pointer len, int flags);

    /**
     * getsockname(2).
     *
     * @param fd a socket
     * @param addr receives the local address
     * @param len the size of {@code addr}, updated to the address's length
     * @return 0, or -1
     */
    int getsockname(int fd, Pointer addr, Pointer len);

    /**
     * getpeername(2).
     *
     * @param fd a socket
     * @param addr receives the peer's address
     * @param len the size of {@code addr}, updated to the address's length
     * @return 0, or -1 (ENOTCONN while not connected)
     */
    int getpeername(int fd, Pointer addr, Pointer len);

    /**
     * setsockopt(2).
     *
     * @param fd a socket
     * @param level SOL_SOCKET, IPPROTO_TCP, ...
     * @param name the option
     * @param value the new value
     * @param len its length
     * @return 0, or -1
     */
    int setsockopt(int fd, int level, int name, Pointer value, int len);

    /**
     * getsockopt(2).
     *
     * @param fd a socket
     * @param level SOL_SOCKET, IPPROTO_TCP, ...
     * @param name the option
     * @param value receives the value
     * @param len the size of {@code value}, updated to the value's length
     * @return 0, or -1
     */
    int getsockopt(int fd, int level, int name, Pointer value, Pointer len);

    /**
     * shutdown(2).
     *
     * @param fd a connected socket; it stays open
     * @param how SHUT_RD, SHUT_WR or SHUT_RDWR
     * @return 0, or -1
     */
    int shutdown(int fd, int how);

    /**
     * poll(2), to wait for an interrupted connect to finish; {@code nfds} as {@code size_t}.
     *
     * @param fds {@code nfds} {@code struct pollfd}s
     * @param nfds the number of entries
     * @param timeoutMillis the longest wait; negative for no limit
     * @return the number of entries with events, 0 on timeout, or -1
     */
    int poll(Pointer fds, @size_t long nfds, int timeoutMillis);

    /**
     * send(2) from direct memory.
     *
     * @param fd a connected socket
     * @param buf the bytes
     * @param len how many to send
     * @param flags {@code MSG_*} flags, e.g. MSG_NOSIGNAL
     * @return the bytes sent, or -1
     */
    @ssize_t long send(int fd, Pointer buf, @size_t long len, int flags);

    /**
     * recv(2) into direct memory.
     *
     * @param fd a socket
     * @param buf where the bytes go
     * @param len the most to receive
     * @param flags {@code MSG_*} flags, e.g. MSG_PEEK
     * @return the bytes received, 0 at end of stream, or -1
     */
    @ssize_t long recv(int fd, Pointer buf, @size_t long len, int flags);

    /**
     * send(2) straight from a direct buffer's memory, from its position. Direct buffers only: for a
     * heap buffer jnr-ffi would copy the whole position-to-limit region for every call (callers stage
     * heap bytes through direct memory and use the {@link Pointer} form).
     *
     * @param fd a connected socket
     * @param buf a direct buffer holding the bytes from its position; its position is not advanced
     * @param len how many to send
     * @param flags {@code MSG_*} flags, e.g. MSG_NOSIGNAL
     * @return the bytes sent, or -1
     */
    @ssize_t long send(int fd, @In ByteBuffer buf, @size_t long len, int flags);

    /**
     * recv(2) straight into a direct buffer's memory, from its position. Direct buffers only: for a
     * heap buffer passed as output jnr-ffi would copy its whole position-to-limit region back after
     * the call, bytes the kernel never wrote included.
     *
     * @param fd a socket
     * @param buf a direct buffer; the bytes go from its position, which is not advanced
     * @param len the most to receive
     * @param flags {@code MSG_*} flags
     * @return the bytes received, 0 at end of stream, or -1
     */
    @ssize_t long recv(int fd, @Out ByteBuffer buf, @size_t long len, int flags);

    /**
     * Variadic in C, so not bound by jnr-ffi: see {@link io.polyplex.internal.LibC#fcntl}.
     *
     * @param fd the fd
     * @param cmd an {@code F_*} command
     * @param arg the command's argument, 0 if it takes none
     * @return the command's result, or -1
     */
    default int fcntl(int fd, int cmd, int arg) {
        return VariadicFunction.FCNTL.invoke(fd, cmd, arg);
    }

    /**
     * close(2).
     *
     * @param fd the fd to close; its number may be reused at once
     * @return 0, or -1
     */
    int close(int fd);

    /** The one loaded instance, bound to the standard C library. */
    SocketLibrary INSTANCE = LibraryLoader.create(SocketLibrary.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    /** The runtime {@link #INSTANCE} lives in, for errno and direct memory. */
    Runtime RUNTIME = Runtime.getRuntime(INSTANCE);
}
