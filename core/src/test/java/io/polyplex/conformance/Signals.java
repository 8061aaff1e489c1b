package io.polyplex.conformance;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.types.intptr_t;

/**
 * Signals for tests that need a real one: to see whether a call raised SIGPIPE (block it on the
 * thread, then look at what is pending), and to interrupt a thread's kernel wait with EINTR (send it
 * SIGPIPE, which the JVM handles by ignoring it: epoll_wait, poll, select and kevent are never
 * restarted after a handler, whatever SA_RESTART says).
 */
public final class Signals {

    /** The libc calls, bound for tests. {@code sigset_t} is opaque: the functions fill it. */
    public interface Lib {
        int pthread_sigmask(int how, Pointer set, Pointer oldset);

        int sigemptyset(Pointer set);

        int sigaddset(Pointer set, int signum);

        int sigismember(Pointer set, int signum);

        int sigpending(Pointer set);

        @intptr_t long pthread_self();

        int pthread_kill(@intptr_t long thread, int sig);
    }

    private static final Lib LIB = LibraryLoader.create(Lib.class).load(Platform.getNativePlatform().getStandardCLibraryName());
    /** SIGPIPE: 13 on Linux, macOS and the BSDs. */
    public static final int SIGPIPE = 13;
    /** SIG_BLOCK and SIG_SETMASK: 0 and 2 on Linux (bits/sigaction.h), 1 and 3 on macOS and the BSDs (sys/signal.h). */
    private static final boolean LINUX = Platform.getNativePlatform().getOS() == Platform.OS.LINUX;
    private static final int SIG_BLOCK = LINUX ? 0 : 1;
    private static final int SIG_SETMASK = LINUX ? 2 : 3;
    /** Room for any system's sigset_t (Linux's is 128 bytes, FreeBSD's 16, macOS's 4). */
    private static final int SIGSET_BYTES = 128;

    private Signals() {}

    /** This thread's pthread_t, for {@link #send}. */
    public static long self() {
        return LIB.pthread_self();
    }

    /** Sends {@code sig} to the thread {@code thread} (a {@link #self()} value). */
    public static void send(long thread, int sig) {
        if (LIB.pthread_kill(thread, sig) != 0) {
            throw new IllegalStateException("pthread_kill failed");
        }
    }

    /**
     * Runs {@code body} with {@code sig} blocked on this thread and returns whether {@code sig}
     * became pending meanwhile (a blocked signal is held, not delivered). The mask is put back
     * afterwards; a signal still pending is then delivered to the JVM's handler.
     */
    public static boolean raisedWhileBlocked(int sig, Runnable body) {
        Runtime rt = Runtime.getRuntime(LIB);
        Pointer set = Memory.allocateDirect(rt, SIGSET_BYTES, true);
        Pointer old = Memory.allocateDirect(rt, SIGSET_BYTES, true);
        Pointer pending = Memory.allocateDirect(rt, SIGSET_BYTES, true);
        LIB.sigemptyset(set);
        LIB.sigaddset(set, sig);
        if (LIB.pthread_sigmask(SIG_BLOCK, set, old) != 0) {
            throw new IllegalStateException("pthread_sigmask failed");
        }
        try {
            if (LIB.sigpending(pending) == 0 && LIB.sigismember(pending, sig) == 1) {
                throw new IllegalStateException("signal " + sig + " already pending before the body ran");
            }
            body.run();
            LIB.sigemptyset(pending);
            return LIB.sigpending(pending) == 0 && LIB.sigismember(pending, sig) == 1;
        } finally {
            LIB.pthread_sigmask(SIG_SETMASK, old, null);
        }
    }
}
