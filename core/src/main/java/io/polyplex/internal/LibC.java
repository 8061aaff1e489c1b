package io.polyplex.internal;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.Variadic;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The few libc calls core makes itself (the self-pipe and the peer-closed probe). Hot-path calls take
 * only primitives and direct-memory {@link Pointer}s, so jnr-ffi can use its fastest stubs.
 */
public interface LibC {

    /** Linux and the BSDs; absent on macOS (callers check {@link #HAS_PIPE2}). */
    int pipe2(@Out int[] fds, int flags);

    int pipe(@Out int[] fds);

    /**
     * fcntl(2) is variadic ({@code int fcntl(int, int, ...)}): bound as such, or Apple arm64 reads its
     * third argument from the stack while jnr-ffi puts it in a register. jnr-ffi calls a variadic
     * function through its generic path, which allocates per call: keep it off the hot paths.
     */
    @Variadic(fixedCount = 2)
    int fcntl(int fd, int cmd, int arg);

    /** poll(2) (not variadic): {@code nfds} is passed as {@code size_t}, see backend-poll's binding. */
    int poll(Pointer fds, @size_t long nfds, int timeoutMillis);

    @ssize_t long read(int fd, Pointer buf, @size_t long count);

    @ssize_t long write(int fd, Pointer buf, @size_t long count);

    @ssize_t long recv(int fd, Pointer buf, @size_t long count, int flags);

    int close(int fd);

    /** The one loaded instance. */
    LibC INSTANCE = LibraryLoader.create(LibC.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    /** The runtime {@link #INSTANCE} lives in, for errno and direct memory. */
    Runtime RUNTIME = Runtime.getRuntime(INSTANCE);

    /** Whether pipe2(2) exists on this OS. */
    boolean HAS_PIPE2 = OsConstants.CURRENT.hasPipe2();

    /** The errno of the last failed call on this thread. */
    static int errno() {
        return RUNTIME.getLastError();
    }
}
