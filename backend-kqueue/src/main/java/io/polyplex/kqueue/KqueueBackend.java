package io.polyplex.kqueue;

import static io.polyplex.kqueue.KeventLayout.DATA;
import static io.polyplex.kqueue.KeventLayout.FFLAGS;
import static io.polyplex.kqueue.KeventLayout.FILTER;
import static io.polyplex.kqueue.KeventLayout.FLAGS;
import static io.polyplex.kqueue.KeventLayout.IDENT;
import static io.polyplex.kqueue.KeventLayout.UDATA;

import io.polyplex.internal.Descriptors;
import io.polyplex.internal.NativeErrors;
import io.polyplex.spi.Backend;
import java.io.IOException;
import java.util.Arrays;
import java.util.function.IntSupplier;
import jnr.constants.platform.Fcntl;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * One kqueue: core's interest bits become one filter per direction.
 *
 * <table>
 *   <caption>How core's calls map onto filters</caption>
 *   <tr><th>core</th><th>kevent changes</th></tr>
 *   <tr><td>register / reregister, direction wanted</td><td>EVFILT_READ or EVFILT_WRITE with
 *       EV_ADD|EV_ENABLE, plus EV_CLEAR (edge) or EV_ONESHOT (one-shot); EV_ADD also replaces udata
 *       (the token) and re-adds a fired one-shot</td></tr>
 *   <tr><td>reregister, direction not wanted</td><td>EV_DISABLE (ENOENT for a filter never added is
 *       not an error): the filter keeps its place and reports nothing</td></tr>
 *   <tr><td>deregister</td><td>EV_DELETE on both filters; ENOENT and EBADF are "already gone"</td></tr>
 * </table>
 *
 * <p>Changes are applied at once with their own kevent call (never batched into the next wait): core
 * makes them under its state lock while another thread may be blocked in {@link #poll}, and kqueue
 * applies a change to a wait already blocked. Every change carries EV_RECEIPT, so each comes back
 * as its own EV_ERROR entry with {@code data} = 0 or the errno for that change; a failed register
 * deletes what it added, so nothing is half-registered. The change buffers belong to the state
 * lock's holder, the event list and the timespec to the polling thread.
 *
 * <p>Ready events: kqueue reports one event per filter; events of one fd in a batch are merged, so
 * core sees one event per socket with READ|WRITE. EV_EOF means the peer closed (PEER_CLOSED, no data
 * consumed: {@code data} still counts the unread bytes); a non-zero {@code fflags} with it is the
 * socket's error (ERROR).
 */
final class KqueueBackend implements Backend {

    static final short EVFILT_READ = -1;
    static final short EVFILT_WRITE = -2;
    static final int EV_ADD = 0x1;
    static final int EV_DELETE = 0x2;
    static final int EV_ENABLE = 0x4;
    static final int EV_DISABLE = 0x8;
    static final int EV_ONESHOT = 0x10;
    static final int EV_CLEAR = 0x20;
    static final int EV_RECEIPT = 0x40;
    static final int EV_ERROR = 0x4000;
    static final int EV_EOF = 0x8000;
    /** Netty's cap: some kernels refuse larger timeouts with EINVAL; core loops for the rest. */
    static final long MAX_TIMEOUT_SECONDS = 86_399;

    private final KqueueLibrary lib;
    private final KeventLayout layout;
    private final IntSupplier errno;
    private final int kq;
    private final int maxEvents;
    private final Pointer changes;
    private final Pointer receipts;
    private final Pointer zeroTimeout;
    private final Pointer events;
    private final Pointer timeout;
    // Merged ready events of the last wait, and a scratch fd -> merged index + 1 (grown as needed).
    private final long[] readyTokens;
    private final int[] readyOps;
    private int[] slotOfFd = new int[1024];

    KqueueBackend(KqueueLibrary lib, KeventLayout layout, IntSupplier errno, int maxEvents) throws IOException {
        this.lib = lib;
        this.layout = layout;
        this.errno = errno;
        this.maxEvents = maxEvents;
        int fd = lib.kqueue();
        if (fd < 0) {
            throw NativeErrors.exception("kqueue(", -1, errno.getAsInt());
        }
        // kqueue fds are not inherited by fork, but exec after vfork/posix_spawn must not see it.
        if (lib.fcntl(fd, Fcntl.F_SETFD.intValue(), 1 /* FD_CLOEXEC */) < 0) {
            int e = errno.getAsInt();
            lib.close(fd);
            throw NativeErrors.exception("fcntl(F_SETFD FD_CLOEXEC", fd, e);
        }
        this.kq = fd;
        Runtime rt = Runtime.getSystemRuntime();
        this.changes = Memory.allocateDirect(rt, 2 * layout.size(), true);
        this.receipts = Memory.allocateDirect(rt, 2 * layout.size(), true);
        this.zeroTimeout = Memory.allocateDirect(rt, 16, true);
        this.events = Memory.allocateDirect(rt, (long) maxEvents * layout.size(), true);
        this.timeout = Memory.allocateDirect(rt, 16, true);
        this.readyTokens = new long[maxEvents];
        this.readyOps = new int[maxEvents];
    }

    // ---------------------------------------------------------------- changes (core's state lock)

    @Override
    public void register(int fd, long token, int ops, int trigger) throws IOException {
        // kqueue accepts a regular file (always readable); the contract refuses it, as epoll does.
        Descriptors.requirePollable("kevent(EV_ADD", fd);
        apply(fd, token, ops, trigger, false);
    }

    @Override
    public void reregister(int fd, long token, int ops, int trigger, int oldOps, int oldTrigger) throws IOException {
        apply(fd, token, ops, trigger, true);
    }

    private void apply(int fd, long token, int ops, int trigger, boolean existing) throws IOException {
        int mode = trigger == EDGE ? EV_CLEAR : trigger == ONE_SHOT ? EV_ONESHOT : 0;
        int n = change(0, fd, EVFILT_READ, (ops & READ) != 0, existing, mode, token);
        n = change(n, fd, EVFILT_WRITE, (ops & WRITE) != 0, existing, mode, token);
        int failed = submit(n);
        if (failed < 0) {
            return;
        }
        long at = (long) failed * layout.size();
        int err = (int) receipts.getLong(at + DATA);
        String what = (changes.getShort(at + FLAGS) & EV_ADD) != 0 ? "EV_ADD " : "EV_DISABLE ";
        String call = "kevent(" + what + filterName(changes.getShort(at + FILTER));
        if (!existing) {
            undoAdds(n); // nothing half-registered
        }
        throw NativeErrors.exception(call, fd, err);
    }

    /** Writes the change for one filter at index {@code n}, if one is needed; returns the next index. */
    private int change(int n, int fd, short filter, boolean wanted, boolean existing, int mode, long token) {
        if (wanted) {
            put(changes, n, fd, filter, EV_ADD | EV_ENABLE | mode, token);
            return n + 1;
        }
        if (existing) {
            put(changes, n, fd, filter, EV_DISABLE, token);
            return n + 1;
        }
        return n;
    }

    /** Deletes the filters a failed register may have added; their errors do not matter. */
    private void undoAdds(int n) {
        for (int i = 0; i < n; i++) {
            long at = (long) i * layout.size();
            changes.putShort(at + FLAGS, (short) (EV_DELETE | EV_RECEIPT));
        }
        lib.kevent(kq, changes, n, receipts, n, zeroTimeout);
    }

    @Override
    public void deregister(int fd) throws IOException {
        put(changes, 0, fd, EVFILT_READ, EV_DELETE, 0);
        put(changes, 1, fd, EVFILT_WRITE, EV_DELETE, 0);
        int failed = submit(2);
        if (failed >= 0) {
            int err = (int) receipts.getLong((long) failed * layout.size() + DATA);
            throw NativeErrors.exception("kevent(EV_DELETE", fd, err);
        }
    }

    private void put(Pointer list, int i, int fd, short filter, int flags, long token) {
        long at = (long) i * layout.size();
        list.setMemory(at, layout.size(), (byte) 0);
        list.putLong(at + IDENT, fd);
        list.putShort(at + FILTER, filter);
        list.putShort(at + FLAGS, (short) (flags | EV_RECEIPT));
        list.putLong(at + UDATA, token);
    }

    /**
     * Applies {@code n} changes with receipts; returns the index of the first that failed with an
     * errno that matters, or -1. ENOENT (a disable or delete of a filter never added) and, for
     * deletes, EBADF (the fd is already closed) are not failures.
     */
    private int submit(int n) throws IOException {
        int got = lib.kevent(kq, changes, n, receipts, n, zeroTimeout);
        if (got < 0) {
            int e = errno.getAsInt();
            if (e == NativeErrors.EINTR) {
                return -1; // the changelist was applied before the interruption
            }
            throw NativeErrors.exception("kevent(changes", (int) changes.getLong(IDENT), e);
        }
        for (int i = 0; i < got; i++) {
            long at = (long) i * layout.size();
            int flags = receipts.getShort(at + FLAGS) & 0xffff;
            long data = receipts.getLong(at + DATA);
            if ((flags & EV_ERROR) == 0 || data == 0) {
                continue;
            }
            int change = changes.getShort((long) i * layout.size() + FLAGS) & 0xffff;
            boolean quiet = (change & (EV_DISABLE | EV_DELETE)) != 0
                    && (data == NativeErrors.ENOENT || (change & EV_DELETE) != 0 && data == NativeErrors.EBADF);
            if (!quiet) {
                return i;
            }
        }
        return -1;
    }

    private static String filterName(short filter) {
        return filter == EVFILT_READ ? "EVFILT_READ" : filter == EVFILT_WRITE ? "EVFILT_WRITE" : "filter " + filter;
    }

    // ---------------------------------------------------------------- waiting (core's poll lock)

    @Override
    public int poll(long timeoutNanos) throws IOException {
        Pointer ts = null;
        if (timeoutNanos >= 0) {
            long seconds = Math.min(timeoutNanos / 1_000_000_000L, MAX_TIMEOUT_SECONDS);
            long nanos = seconds == MAX_TIMEOUT_SECONDS ? 0 : timeoutNanos % 1_000_000_000L;
            timeout.putLong(0, seconds);
            timeout.putLong(8, nanos);
            ts = timeout;
        }
        int n = lib.kevent(kq, null, 0, events, maxEvents, ts);
        if (n < 0) {
            int e = errno.getAsInt();
            if (e == NativeErrors.EINTR) {
                return 0;
            }
            throw NativeErrors.exception("kevent(wait", kq, e);
        }
        return merge(n);
    }

    /** One event per fd: the filters' bits are or-ed together. */
    private int merge(int n) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            long at = (long) i * layout.size();
            int fd = (int) events.getLong(at + IDENT);
            short filter = events.getShort(at + FILTER);
            int flags = events.getShort(at + FLAGS) & 0xffff;
            int ops = filter == EVFILT_READ ? READ : filter == EVFILT_WRITE ? WRITE : 0;
            if ((flags & EV_EOF) != 0) {
                ops |= PEER_CLOSED | (events.getInt(at + FFLAGS) != 0 ? ERROR : 0);
            }
            if ((flags & EV_ERROR) != 0) {
                ops |= ERROR | READ | WRITE;
            }
            if (fd >= slotOfFd.length) {
                slotOfFd = Arrays.copyOf(slotOfFd, Math.max(fd + 1, slotOfFd.length * 2));
            }
            int slot = fd >= 0 ? slotOfFd[fd] - 1 : -1;
            if (slot >= 0) {
                readyOps[slot] |= ops;
            } else {
                readyTokens[count] = events.getLong(at + UDATA);
                readyOps[count] = ops;
                if (fd >= 0) {
                    slotOfFd[fd] = count + 1;
                }
                count++;
            }
        }
        for (int i = 0; i < n; i++) {
            int fd = (int) events.getLong((long) i * layout.size() + IDENT);
            if (fd >= 0) {
                slotOfFd[fd] = 0;
            }
        }
        return count;
    }

    @Override
    public long readyToken(int i) {
        return readyTokens[i];
    }

    @Override
    public int readyOps(int i) {
        return readyOps[i];
    }

    @Override
    public boolean changesNeedWakeup() {
        return false;
    }

    @Override
    public void close() {
        lib.close(kq);
    }
}
