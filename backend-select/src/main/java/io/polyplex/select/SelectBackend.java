package io.polyplex.select;

import io.polyplex.NativeIOException;
import io.polyplex.internal.Descriptors;
import io.polyplex.internal.OsConstants;
import io.polyplex.internal.NativeErrors;
import io.polyplex.internal.WatchList;
import io.polyplex.spi.Backend;
import java.io.IOException;
import java.util.function.IntUnaryOperator;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * One select(2) interest set. select keeps nothing in the kernel between calls, so the set lives in
 * user space: a {@link WatchList} (its own small lock, written by core's change calls) and, built
 * from its snapshot, a read and a write {@code fd_set} kept as Java byte arrays. Every wait copies
 * those into native memory (select overwrites its sets with the result), calls select without any
 * lock, and reads the result back. A change made while another thread waits reaches that wait
 * because {@link #changesNeedWakeup()} is true: core wakes the waiter through the self-pipe and the
 * next wait rebuilds from a new snapshot. Each event carries the token of the snapshot the wait was
 * built from, so core can tell an event for a socket changed since.
 *
 * <p>What select has and the other backends do not:
 * <ul>
 *   <li>Only fds below FD_SETSIZE (1024) fit. Larger ones are refused at registration with an
 *       IOException that names the limit and the poll and epoll backends; nothing is ever written
 *       outside a set ({@link FdSetLayout} checks every fd).
 *   <li>One closed fd makes the whole call fail with EBADF. The backend then finds the closed fds
 *       (fcntl(F_GETFD), and if that finds none, a zero-timeout select on each fd alone) and reports
 *       each as {@link #INVALID}; core delivers it once as ERROR and deregisters it, and the next
 *       wait goes on with the others. Never a spin, never an exception for every later poll.
 *   <li>No peer-closed flag and no one-shot or edge-triggered mode: core probes readable sockets
 *       for end of stream and emulates one-shot.
 * </ul>
 *
 * <p>Steady state allocates nothing: the native sets, the timeval and the arrays are allocated once
 * (the ready arrays grow with the set, never shrink), and the sets are rebuilt only when the
 * snapshot changed.
 */
final class SelectBackend implements Backend {

    /** Longest single wait: macOS refuses a timeval beyond 10^8 s with EINVAL. Core waits again. */
    static final long MAX_SECONDS = 100_000_000L;

    /**
     * {@code struct timeval}: {@code time_t tv_sec} then {@code suseconds_t tv_usec}. time_t is a
     * {@code long} except on OpenBSD and NetBSD (always 64-bit); suseconds_t is a {@code long}
     * except on macOS and NetBSD (32-bit {@code int}, followed by padding on 64-bit machines).
     */
    static final int TV_SEC_BYTES;
    static final int TV_USEC_BYTES;

    static {
        Platform.OS os = Platform.getNativePlatform().getOS();
        if (Runtime.getSystemRuntime().longSize() == 8) { // sizeof(long), in bytes
            TV_SEC_BYTES = OsConstants.CURRENT.timevalSecondsBytes();
            TV_USEC_BYTES = OsConstants.CURRENT.timevalMicrosBytes();
        } else { // 32-bit: long is 4 bytes; OpenBSD's and NetBSD's time_t is 64-bit even there
            TV_SEC_BYTES = os == Platform.OS.OPENBSD || os == Platform.OS.NETBSD ? 8 : 4;
            TV_USEC_BYTES = 4;
        }
    }

    private final SelectLibrary lib;
    private final Runtime runtime;
    private final FdSetLayout layout;
    private final int maxEvents;
    private final WatchList watched = new WatchList();

    // Native memory handed to select; only the polling thread touches it.
    private final Pointer readSet;
    private final Pointer writeSet;
    private final Pointer timeval;
    private final Pointer zeroTimeval;
    /** One {@code struct pollfd} for {@link #bitsOf}'s error probe (polling thread only). */
    private final Pointer errorProbe;

    // The sets built from the current snapshot, and select's answer read back.
    private final byte[] readBits;
    private final byte[] writeBits;
    private final byte[] readResult;
    private final byte[] writeResult;
    /** Highest fd in the snapshot + 1. */
    private int nfds;


    /** {@link #bitsOf}, made once so that collecting allocates nothing. */
    private final IntUnaryOperator readyOf = this::bitsOf;

    SelectBackend(SelectLibrary lib, FdSetLayout layout, int maxEvents) {
        if (maxEvents <= 0) {
            throw new IllegalArgumentException("maxEvents must be positive: " + maxEvents);
        }
        this.lib = lib;
        this.runtime = Runtime.getRuntime(lib);
        this.layout = layout;
        this.maxEvents = maxEvents;
        int bytes = layout.bytes();
        this.readSet = Memory.allocateDirect(runtime, bytes, true);
        this.writeSet = Memory.allocateDirect(runtime, bytes, true);
        this.timeval = Memory.allocateDirect(runtime, 16, true);
        this.zeroTimeval = Memory.allocateDirect(runtime, 16, true);
        this.errorProbe = Memory.allocateDirect(runtime, 8, true);
        this.readBits = new byte[bytes];
        this.writeBits = new byte[bytes];
        this.readResult = new byte[bytes];
        this.writeResult = new byte[bytes];
    }

    // ---------------------------------------------------------------- changes (core's state lock)

    /**
     * Adds {@code fd}. select itself would only notice a closed or unpollable fd at the next wait
     * (failing it as a whole), so the fd is checked here, as epoll_ctl would: negative or closed is
     * EBADF, a regular file EPERM, and an fd select cannot hold is refused naming the way out.
     */
    @Override
    public void register(int fd, long token, int ops, int trigger) throws IOException {
        checkFits("select(register", fd);
        Descriptors.requirePollable("select(register", fd);
        watched.put(fd, token, ops);
    }

    /** Replaces the interest of {@code fd}; a closed fd is EBADF and changes nothing. */
    @Override
    public void reregister(int fd, long token, int ops, int trigger, int oldOps, int oldTrigger)
            throws IOException {
        checkFits("select(reregister", fd);
        if (!Descriptors.isOpen(fd)) {
            throw NativeErrors.exception("select(reregister", fd, NativeErrors.EBADF);
        }
        watched.put(fd, token, ops);
    }

    private void checkFits(String call, int fd) throws IOException {
        if (fd < 0) {
            throw NativeErrors.exception(call, fd, NativeErrors.EBADF);
        }
        if (fd >= layout.setSize) {
            // EINVAL: what macOS's select answers for nfds beyond FD_SETSIZE. The text says what to do.
            throw new NativeIOException(call, fd, NativeErrors.EINVAL, NativeErrors.name(NativeErrors.EINVAL),
                    "fd " + fd + " is >= FD_SETSIZE (" + layout.setSize + "), the most select can watch;"
                    + " use the poll or epoll backend for descriptors this large");
        }
    }

    /** Removes {@code fd}; one never added (or already gone) is a no-op. */
    @Override
    public void deregister(int fd, long token, int oldOps, int oldTrigger) {
        watched.remove(fd);
    }

    // ---------------------------------------------------------------- waiting (core's poll lock)

    @Override
    public int poll(long timeoutNanos) throws IOException {
        if (watched.snapshot()) {
            buildSets();
        }
        int n = watched.size();
        int used = layout.bytesFor(nfds);
        readSet.put(0, readBits, 0, used);
        writeSet.put(0, writeBits, 0, used);
        int ready = lib.select(nfds, readSet, writeSet, null, timeout(timeoutNanos));
        if (ready < 0) {
            int errno = runtime.getLastError();
            if (NativeErrors.isTransient(errno)) {
                return 0; // core waits again for the time left
            }
            if (errno == NativeErrors.EBADF) {
                return reportClosed(n);
            }
            throw NativeErrors.exception("select(nfds=" + nfds, -1, errno);
        }
        if (ready == 0) {
            return 0;
        }
        readSet.get(0, readResult, 0, used);
        writeSet.get(0, writeResult, 0, used);
        return watched.collectReady(maxEvents, ready, readyOf);
    }

    /** Rebuilds the two sets and nfds from the snapshot just taken. */
    private void buildSets() {
        java.util.Arrays.fill(readBits, (byte) 0);
        java.util.Arrays.fill(writeBits, (byte) 0);
        int n = watched.size();
        int max = -1;
        for (int i = 0; i < n; i++) {
            int fd = watched.fd(i);
            int ops = watched.ops(i);
            if ((ops & READ) != 0) {
                layout.set(readBits, fd);
            }
            if ((ops & WRITE) != 0) {
                layout.set(writeBits, fd);
            }
            max = Math.max(max, fd);
        }
        nfds = max + 1;
    }

    /**
     * The timeval for a wait of {@code timeoutNanos}, rounded up to whole microseconds so a wait is
     * never shorter than asked; null (no limit) for a negative one.
     */
    private Pointer timeout(long timeoutNanos) {
        if (timeoutNanos < 0) {
            return null;
        }
        long micros = timeoutNanos / 1000 + (timeoutNanos % 1000 == 0 ? 0 : 1);
        long seconds = micros / 1_000_000;
        long usec = micros % 1_000_000;
        if (seconds >= MAX_SECONDS) {
            seconds = MAX_SECONDS;
            usec = 0;
        }
        writeTimeval(timeval, seconds, usec);
        return timeval;
    }

    private static void writeTimeval(Pointer tv, long seconds, long usec) {
        if (TV_SEC_BYTES == 8) {
            tv.putLong(0, seconds);
        } else {
            tv.putInt(0, (int) seconds);
        }
        if (TV_USEC_BYTES == 8) {
            tv.putLong(TV_SEC_BYTES, usec);
        } else {
            tv.putInt(TV_SEC_BYTES, (int) usec);
        }
    }

    /**
     * The ready bits of snapshot entry {@code i} after a wait, read from the result sets. select(2)
     * reports a socket in error (a reset, a refused connect) only as readable and writable: a
     * readable one core probes for the error and the close (recv MSG_PEEK); one only writable is
     * asked here with a poll(2) that wants nothing, whose POLLERR and POLLHUP say it without
     * consuming the error, so that a socket watched for WRITE alone is reported as epoll and poll
     * report it (WRITE|ERROR, and PEER_CLOSED on a hang-up).
     */
    private int bitsOf(int i) {
        int fd = watched.fd(i);
        boolean read = layout.isSet(readResult, fd);
        boolean write = layout.isSet(writeResult, fd);
        int ops = (read ? READ : 0) | (write ? WRITE : 0);
        if (write && !read) {
            errorProbe.putInt(0, fd);
            errorProbe.putShort(4, (short) 0);
            errorProbe.putShort(6, (short) 0);
            if (lib.poll(errorProbe, 1, 0) > 0) {
                int revents = errorProbe.getShort(6);
                ops |= ((revents & POLLERR) != 0 ? ERROR : 0) | ((revents & POLLHUP) != 0 ? PEER_CLOSED : 0);
            }
        }
        return ops;
    }

    /** poll(2) bits: the same on every POSIX system (kernel-facts.md). */
    static final int POLLERR = 0x8;
    static final int POLLHUP = 0x10;

    /**
     * select failed with EBADF: some fd in the set was closed without deregister. Reports each such
     * fd as {@link #INVALID} (core delivers ERROR once and deregisters it). fcntl finds a closed fd;
     * if it finds none, each fd is tried alone with a zero-timeout select, which finds any fd select
     * refuses for another reason. If still none is found the fd was closed and its number reused in
     * between: nothing to report, and the next wait succeeds.
     */
    private int reportClosed(int n) {
        int count = watched.collectReady(maxEvents, n, i -> Descriptors.isOpen(watched.fd(i)) ? 0 : INVALID);
        if (count == 0) {
            count = watched.collectReady(1, n, i -> selectRefuses(watched.fd(i), watched.ops(i)) ? INVALID : 0);
        }
        return count;
    }

    /** Whether a zero-timeout select on {@code fd} alone fails with EBADF. */
    private boolean selectRefuses(int fd, int ops) {
        int used = layout.bytesFor(fd + 1);
        java.util.Arrays.fill(readResult, 0, used, (byte) 0);
        readSet.put(0, readResult, 0, used);
        writeSet.put(0, readResult, 0, used);
        int at = layout.byteOffset(fd);
        byte bit = (byte) FdSetLayout.bitMask(fd);
        ((ops & WRITE) != 0 && (ops & READ) == 0 ? writeSet : readSet).putByte(at, bit);
        writeTimeval(zeroTimeval, 0, 0);
        return lib.select(fd + 1, readSet, writeSet, null, zeroTimeval) < 0
                && runtime.getLastError() == NativeErrors.EBADF;
    }

    @Override
    public long readyToken(int i) {
        return watched.readyToken(i);
    }

    @Override
    public int readyOps(int i) {
        return watched.readyOps(i);
    }

    /** True: select is handed a copy of the sets, so a blocked wait must be woken to see a change. */
    @Override
    public boolean changesNeedWakeup() {
        return true;
    }

    /** No kernel object to close: the sets are direct memory, freed with this object. */
    @Override
    public void close() {
    }
}
