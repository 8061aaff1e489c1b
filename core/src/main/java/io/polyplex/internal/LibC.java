package io.polyplex.internal;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The few libc calls core makes itself (the self-pipe and the peer-closed probe). Hot-path calls take
 * only primitives and direct-memory {@link Pointer}s, so jnr-ffi can use its fastest stubs.
 */
public interface LibC {

    /**
     * pipe2(2): Linux and the BSDs; absent on macOS (callers check {@link #HAS_PIPE2}).
     *
     * @param fds receives the read end at index 0 and the write end at 1, which the caller owns
     * @param flags O_CLOEXEC and O_NONBLOCK as wanted
     * @return 0, or -1 with errno set
     */
    int pipe2(@Out int[] fds, int flags);

    /**
     * pipe(2), where there is no pipe2: the caller sets the fd flags itself.
     *
     * @param fds receives the read end at index 0 and the write end at 1, which the caller owns
     * @return 0, or -1 with errno set
     */
    int pipe(@Out int[] fds);

    /**
     * fcntl(2), which is variadic ({@code int fcntl(int, int, ...)}): Apple arm64 passes the third
     * argument on the stack. Not bound by jnr-ffi (a default method), but called through {@link
     * VariadicFunction#FCNTL}, a jffi call context prepared as variadic for it alone: jnr-ffi's
     * {@code @Variadic} would share jffi's cached context with any fixed-arity {@code int f(int, int,
     * int)} loaded first in the process (see there).
     *
     * @param fd the fd
     * @param cmd an {@code F_*} command (jnr-constants' {@code Fcntl})
     * @param arg the command's argument, 0 if it takes none
     * @return the command's result, or -1 with errno set
     */
    default int fcntl(int fd, int cmd, int arg) {
        return VariadicFunction.FCNTL.invoke(fd, cmd, arg);
    }

    /**
     * poll(2) (not variadic): {@code nfds} is passed as {@code size_t}, see backend-poll's binding.
     *
     * @param fds direct memory holding {@code nfds} {@code struct pollfd}s
     * @param nfds the number of entries
     * @param timeoutMillis the longest wait; negative for no limit, 0 for none
     * @return the number of entries with events, 0 on timeout, or -1 with errno set
     */
    int poll(Pointer fds, @size_t long nfds, int timeoutMillis);

    /**
     * read(2) into direct memory.
     *
     * @param fd the fd
     * @param buf at least {@code count} bytes of direct memory
     * @param count the most bytes to read
     * @return the bytes read, 0 at end of file, or -1 with errno set
     */
    @ssize_t long read(int fd, Pointer buf, @size_t long count);

    /**
     * write(2) from direct memory.
     *
     * @param fd the fd
     * @param buf at least {@code count} bytes of direct memory
     * @param count the bytes to write
     * @return the bytes written, or -1 with errno set
     */
    @ssize_t long write(int fd, Pointer buf, @size_t long count);

    /**
     * recv(2) into direct memory.
     *
     * @param fd a socket
     * @param buf at least {@code count} bytes of direct memory
     * @param count the most bytes to receive
     * @param flags {@code MSG_*} flags, e.g. MSG_PEEK
     * @return the bytes received, 0 at end of stream, or -1 with errno set
     */
    @ssize_t long recv(int fd, Pointer buf, @size_t long count, int flags);

    /**
     * close(2).
     *
     * @param fd the fd to close; its number may be reused at once
     * @return 0, or -1 with errno set
     */
    int close(int fd);

    /** The one loaded instance. */
    LibC INSTANCE = LibraryLoader.create(LibC.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    /** The runtime {@link #INSTANCE} lives in, for errno and direct memory. */
    Runtime RUNTIME = Runtime.getRuntime(INSTANCE);

    /** Whether pipe2(2) exists on this OS. */
    boolean HAS_PIPE2 = OsConstants.CURRENT.hasPipe2();

    /**
     * The errno of the last failed call on this thread.
     *
     * @return the errno jnr-ffi saved after this thread's last native call
     */
    static int errno() {
        return RUNTIME.getLastError();
    }
}
