package io.polyplex.internal;

import java.io.IOException;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * The wakeup channel: one pipe, both ends non-blocking and close-on-exec. Its read end is registered
 * with the backend like any fd, so writing one byte makes a blocked wait return.
 *
 * <p>Signals coalesce: while a byte is pending, further {@link #signal()}s write nothing, so a storm
 * of wakeups neither blocks nor fills the pipe. {@link #drain()} empties the pipe and re-arms. After
 * {@link #signalForever()} the pipe stays readable (drain no longer empties it), so every thread
 * that waits on it from then on returns at once: that is how close reaches every poller.
 *
 * <p>Thread-safe. One lock guards the flags, and is never held across the write: a signalling
 * thread preempted right after its write (the woken poller often runs at once on the same CPU) must
 * not make that poller block on the lock when it drains. {@link #close()} waits, under the lock,
 * for writes in flight to finish, so a signal racing close never writes into a closed (and possibly
 * reused) fd. A write that lands just after a drain leaves a byte with {@code pending} clear: that
 * costs one spurious internal wake, never a lost one.
 */
public final class SelfPipe implements AutoCloseable {

    private final LibC libc;
    private final int readFd;
    private final int writeFd;
    private final Object lock = new Object();
    /** Direct buffers owned by this pipe, used only under {@link #lock}. */
    private final Pointer oneByte;
    private final Pointer drainBuffer;
    private static final int DRAIN_BYTES = 128;

    /** A byte is in the pipe (or being written); read without the lock as a fast path. */
    private volatile boolean pending;
    private boolean sticky;
    private boolean closed;
    /** Signals between setting {@code pending} and finishing their write; close waits for 0. */
    private int writers;

    /**
     * Opens a new pipe; its fds belong to this object until {@link #close()}.
     *
     * @throws IOException if the pipe cannot be created or its flags set (nothing stays open then)
     */
    public SelfPipe() throws IOException {
        this(LibC.INSTANCE);
    }

    /**
     * Opens a new pipe through {@code libc} (a test substitutes a wrapper that injects faults); its
     * fds belong to this object until {@link #close()}.
     *
     * @param libc the binding every call of this pipe goes through
     * @throws IOException if the pipe cannot be created or its flags set (nothing stays open then)
     */
    public SelfPipe(LibC libc) throws IOException {
        this.libc = libc;
        int[] fds = new int[2];
        int cloexec = OpenFlags.O_CLOEXEC.intValue();
        int nonblock = OpenFlags.O_NONBLOCK.intValue();
        if (LibC.HAS_PIPE2) {
            if (retrying(() -> libc.pipe2(fds, cloexec | nonblock)) < 0) {
                throw NativeErrors.exception("pipe2(", -1, LibC.errno());
            }
        } else {
            if (retrying(() -> libc.pipe(fds)) < 0) {
                throw NativeErrors.exception("pipe(", -1, LibC.errno());
            }
            try {
                for (int fd : fds) {
                    setFlag(fd, Fcntl.F_GETFD, Fcntl.F_SETFD, 1 /* FD_CLOEXEC, the same everywhere */);
                    setFlag(fd, Fcntl.F_GETFL, Fcntl.F_SETFL, nonblock);
                }
            } catch (IOException e) {
                libc.close(fds[0]);
                libc.close(fds[1]);
                throw e;
            }
        }
        readFd = fds[0];
        writeFd = fds[1];
        oneByte = Memory.allocateDirect(LibC.RUNTIME, 1, true);
        drainBuffer = Memory.allocateDirect(LibC.RUNTIME, DRAIN_BYTES, false);
    }

    private void setFlag(int fd, Fcntl get, Fcntl set, int flag) throws IOException {
        int old = retrying(() -> libc.fcntl(fd, get.intValue(), 0));
        if (old < 0) {
            throw NativeErrors.exception("fcntl(" + get.name(), fd, LibC.errno());
        }
        if (retrying(() -> libc.fcntl(fd, set.intValue(), old | flag)) < 0) {
            throw NativeErrors.exception("fcntl(" + set.name(), fd, LibC.errno());
        }
    }

    /**
     * Makes a call that does not wait again while it fails with a transient errno, at most {@link
     * NativeErrors#TRANSIENT_RETRIES} times; its result (errno is left as the last try set it).
     * Only used while opening, so the lambda costs nothing that matters.
     */
    private static int retrying(java.util.function.IntSupplier call) {
        int r = call.getAsInt();
        for (int tries = 1; r < 0 && tries < NativeErrors.TRANSIENT_RETRIES && NativeErrors.isTransient(LibC.errno()); tries++) {
            r = call.getAsInt();
        }
        return r;
    }

    /**
     * The end to register with the backend for readability.
     *
     * @return the read end's fd; it belongs to this pipe, and is closed (and its number free for
     *     reuse) after {@link #close()}
     */
    public int readFd() {
        return readFd;
    }

    /**
     * The end {@link #signal()} writes to (exposed for tests and diagnostics).
     *
     * @return the write end's fd; it belongs to this pipe, and is closed after {@link #close()}
     */
    public int writeFd() {
        return writeFd;
    }

    /** Makes the read end readable, unless it already is. Never blocks; a no-op after close. */
    public void signal() {
        if (pending) {
            return;
        }
        synchronized (lock) {
            if (pending || closed) {
                return;
            }
            pending = true;
            writers++;
        }
        writeByte();
    }

    /** Makes the read end readable for good: later drains leave it so. */
    public void signalForever() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            sticky = true;
            if (pending) {
                return;
            }
            pending = true;
            writers++;
        }
        writeByte();
    }

    /**
     * Writes the byte outside the lock, then lets a waiting {@link #close()} go on. EINTR is made
     * again; EAGAIN is too, a few times, and then taken to mean what it means on a pipe, that it is
     * full and so already readable. Any other errno (the pipe cannot fail so unless its fd was
     * closed behind our back) means no byte went in: {@code pending} is cleared so that the next
     * signal writes again instead of believing the pipe readable for ever. The wakeup that failed
     * is lost; it cannot throw, because {@link io.polyplex.EventQueue#wakeup()} never does.
     */
    private void writeByte() {
        boolean written = false;
        try {
            for (int tries = 1; ; tries++) {
                if (libc.write(writeFd, oneByte, 1) == 1) {
                    written = true;
                    break;
                }
                int errno = LibC.errno();
                if (errno == NativeErrors.EINTR) {
                    continue;
                }
                if (NativeErrors.wouldBlock(errno)) {
                    if (tries < NativeErrors.TRANSIENT_RETRIES) {
                        continue;
                    }
                    written = true; // full: readable already
                }
                break;
            }
        } finally {
            synchronized (lock) {
                if (!written && !closed) {
                    pending = false;
                }
                if (--writers == 0 && closed) {
                    lock.notifyAll();
                }
            }
        }
    }

    /** Empties the pipe and re-arms {@link #signal()}; a no-op after {@link #signalForever()}. */
    public void drain() {
        synchronized (lock) {
            if (closed || sticky) {
                return;
            }
            while (libc.read(readFd, drainBuffer, DRAIN_BYTES) == DRAIN_BYTES) {
                // keep reading: there may be more
            }
            pending = false;
        }
    }

    /** Closes both ends once no signal is writing; idempotent. */
    @Override
    public void close() {
        boolean interrupted = false;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            pending = true; // signal()'s fast path stops here from now on
            while (writers > 0) {
                try {
                    lock.wait(); // a one-byte write to a non-blocking pipe: microseconds
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            libc.close(readFd);
            libc.close(writeFd);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
