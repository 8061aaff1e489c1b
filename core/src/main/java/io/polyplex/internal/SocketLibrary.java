package io.polyplex.internal;

import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.Variadic;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The BSD socket calls jnr-posix lacks, bound with jnr-ffi (primitives, pointers and buffers). Public
 * only because jnr-ffi generates its implementation in another class loader; not an API.
 */
public interface SocketLibrary {

    int socket(int domain, int type, int protocol);

    int socketpair(int domain, int type, int protocol, @Out int[] fds);

    int bind(int fd, Pointer addr, int len);

    int listen(int fd, int backlog);

    int connect(int fd, Pointer addr, int len);

    int accept(int fd, Pointer addr, Pointer len);

    /** Linux and FreeBSD only. */
    int accept4(int fd, Pointer addr, Pointer len, int flags);

    int getsockname(int fd, Pointer addr, Pointer len);

    int getpeername(int fd, Pointer addr, Pointer len);

    int setsockopt(int fd, int level, int name, Pointer value, int len);

    int getsockopt(int fd, int level, int name, Pointer value, Pointer len);

    int shutdown(int fd, int how);

    /** poll(2), to wait for an interrupted connect to finish; {@code nfds} as {@code size_t}. */
    int poll(Pointer fds, @size_t long nfds, int timeoutMillis);

    @ssize_t long send(int fd, Pointer buf, @size_t long len, int flags);

    @ssize_t long recv(int fd, Pointer buf, @size_t long len, int flags);

    /**
     * send(2) straight from a buffer: a direct buffer's memory is passed in place from its position;
     * a heap buffer's remaining bytes are copied in for the call (no allocation either way).
     */
    @ssize_t long send(int fd, @In ByteBuffer buf, @size_t long len, int flags);

    /** recv(2) straight into a buffer, from its position; a heap buffer is copied out after the call. */
    @ssize_t long recv(int fd, @Out ByteBuffer buf, @size_t long len, int flags);

    /** Variadic in C: see {@link io.polyplex.internal.LibC#fcntl}. */
    @Variadic(fixedCount = 2)
    int fcntl(int fd, int cmd, int arg);

    int close(int fd);

    SocketLibrary INSTANCE = LibraryLoader.create(SocketLibrary.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    Runtime RUNTIME = Runtime.getRuntime(INSTANCE);
}
