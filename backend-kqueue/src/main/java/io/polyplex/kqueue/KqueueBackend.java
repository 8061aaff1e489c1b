package io.polyplex.kqueue;

import static io.polyplex.kqueue.KeventLayout.DATA;
import static io.polyplex.kqueue.KeventLayout.FFLAGS;
import static io.polyplex.kqueue.KeventLayout.FILTER;
import static io.polyplex.kqueue.KeventLayout.FLAGS;
import static io.polyplex.kqueue.KeventLayout.IDENT;
import static io.polyplex.kqueue.KeventLayout.UDATA;

import io.polyplex.NativeIOException;
import io.polyplex.internal.Descriptors;
import io.polyplex.internal.NativeErrors;
import io.polyplex.spi.Backend;
import io.polyplex.spi.RegistrationLostException;
import java.io.IOException;
import java.util.Arrays;
import java.util.function.IntSupplier;
import jnr.constants.platform.Fcntl;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * One kqueue: core's interest bits become one filter per direction (EVFILT_READ, EVFILT_WRITE),
 * each a knote keyed by (fd, filter). Every rule this class relies on was read in the kernels' own
 * sources (FreeBSD {@code sys/kern/kern_event.c}, XNU {@code bsd/kern/kern_event.c}, OpenBSD and
 * DragonFly likewise):
 *
 * <table>
 *   <caption>Kernel rules, and what the backend does about each</caption>
 *   <tr><th>rule (where it is)</th><th>what the backend does</th></tr>
 *   <tr><td>EV_ADD on an existing knote changes only udata (and the saved fflags and data);
 *       EV_CLEAR, EV_ONESHOT and EV_DISPATCH stay as they were when it was created (FreeBSD
 *       {@code kqueue_register}, XNU {@code kevent_register}; FreeBSD has EV_FORCEONESHOT for this
 *       reason)</td><td>a change of trigger deletes both filters and adds the wanted ones again, in
 *       one changelist; a change within one trigger touches only the filters whose state
 *       differs</td></tr>
 *   <tr><td>EV_ADD alone does not re-enable a disabled knote (same functions)</td><td>EV_ADD always
 *       comes with EV_ENABLE</td></tr>
 *   <tr><td>an EV_DISPATCH knote is disabled after delivery, kept; an EV_ONESHOT one is dropped
 *       (FreeBSD {@code kqueue_scan}, XNU {@code knote_process})</td><td>{@link #ONE_SHOT} is
 *       EV_DISPATCH: core's native one-shot stays in the set, disarmed, and EV_ENABLE re-arms it
 *       without allocating a knote</td></tr>
 *   <tr><td>EV_DISPATCH disables only the knote that fired, not the fd's other filter (same
 *       functions); EV_ENABLE evaluates a knote again and queues it at once if it holds (FreeBSD
 *       {@code kqueue_register}, XNU {@code kevent_register})</td><td>none needed: core disarms
 *       the whole socket, so the other filter's knote can fire once more; core drops that event
 *       (disarmed) and the kernel disables the knote, after which both agree. One wasted wakeup,
 *       never a spin, and nothing lost: a re-arm enables every wanted filter, and a condition that
 *       still holds is queued at once</td></tr>
 *   <tr><td>with EV_RECEIPT every change comes back as an EV_ERROR entry, in order, {@code data} the
 *       errno or 0, and a call that wrote any entry returns at once without waiting (FreeBSD {@code
 *       kqueue_kevent}, XNU {@code kevent_internal}), so with room for every receipt a change-only
 *       call cannot be interrupted (EINTR)</td><td>every change carries EV_RECEIPT and the receipt
 *       list has room for all; a failing call is an error (after a transient errno, made again), and a call that returns fewer receipts
 *       than changes, or an entry without EV_ERROR, means a kernel that ignores EV_RECEIPT
 *       (DragonFly before 4.6): refused, since ready events would be taken for receipts</td></tr>
 *   <tr><td>EV_DELETE of a knote that is gone: ENOENT; of a closed fd: EBADF on FreeBSD, OpenBSD
 *       and DragonFly ({@code fget} first), ENOENT on macOS (knote lookup first)</td><td>both are
 *       "already gone" for a delete, and ENOENT for a disable</td></tr>
 *   <tr><td>EV_EOF on EVFILT_READ: the peer closed (or this side shut reading), {@code fflags} the
 *       socket error, {@code data} the bytes still unread (FreeBSD {@code filt_soread}, XNU {@code
 *       filt_soread_common})</td><td>PEER_CLOSED, plus ERROR if {@code fflags} is set</td></tr>
 *   <tr><td>EV_EOF on EVFILT_WRITE: this side can send no more, after its own shutdown(SHUT_WR)
 *       or a reset (FreeBSD {@code filt_sowrite}, XNU {@code filt_sowrite_common})</td><td>not
 *       PEER_CLOSED (that comes from the read filter only); ERROR if {@code fflags} is set</td></tr>
 * </table>
 *
 * <p>Changes are applied at once with their own kevent call (never batched into the next wait):
 * core makes them under its state lock while another thread may be blocked in {@link #poll}, and
 * kqueue applies a change to a wait already blocked. A failed register deletes what it added; a
 * failed reregister puts the previous registration back (a changelist is applied change by change,
 * so some of it may have taken effect), and if even that fails, deletes the fd and throws {@link
 * RegistrationLostException}. The change buffers belong to the state lock's holder, the event list
 * and the timespec to the polling thread.
 *
 * <p>Ready events: kqueue reports one event per filter; the events of one registration (same fd,
 * same token) in a batch are merged, so core sees one event per socket with READ|WRITE; two tokens
 * on one fd number are two sockets and stay apart (see {@link #merge}). Delivered flags carry the knote's creation flags
 * (EV_RECEIPT, EV_DISPATCH, ...) too: only EV_EOF and EV_ERROR are read from them.
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
    static final int EV_DISPATCH = 0x80;
    static final int EV_ERROR = 0x4000;
    static final int EV_EOF = 0x8000;
    /** Netty's cap: some kernels refuse larger timeouts with EINVAL; core loops for the rest. */
    static final long MAX_TIMEOUT_SECONDS = 86_399;
    /**
     * Changes one call can carry (a delete and an add for each of the two filters), and receipts
     * the receipt list has room for: every change call passes room for a receipt per change, which
     * {@link #apply} checks before the call. The kernels differ when the room runs out: FreeBSD
     * {@code kqueue_kevent} and OpenBSD {@code sys_kevent} stop applying the changelist at the first
     * receipt that does not fit, XNU {@code kevent_internal} drops successful receipts silently, and
     * DragonFly {@code kern_kevent} writes one receipt per change through {@code kevent_copyoutfn}
     * without looking at {@code nevents} at all: past the end of the caller's buffer.
     */
    static final int MAX_CHANGES = 4;

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
        int fd;
        for (int tries = 1; (fd = lib.kqueue()) < 0 && again(tries); tries++) {
            // a transient failure: make it again
        }
        if (fd < 0) {
            throw NativeErrors.exception("kqueue(", -1, errno.getAsInt());
        }
        // kqueue fds are not inherited by fork, but exec after vfork/posix_spawn must not see it.
        int set;
        for (int tries = 1; (set = lib.fcntl(fd, Fcntl.F_SETFD.intValue(), 1 /* FD_CLOEXEC */)) < 0 && again(tries); tries++) {
            // a transient failure: make it again
        }
        if (set < 0) {
            int e = errno.getAsInt();
            lib.close(fd);
            throw NativeErrors.exception("fcntl(F_SETFD FD_CLOEXEC", fd, e);
        }
        this.kq = fd;
        Runtime rt = Runtime.getSystemRuntime();
        this.changes = Memory.allocateDirect(rt, MAX_CHANGES * layout.size(), true);
        this.receipts = Memory.allocateDirect(rt, MAX_CHANGES * layout.size(), true);
        this.zeroTimeout = Memory.allocateDirect(rt, 16, true);
        this.events = Memory.allocateDirect(rt, (long) maxEvents * layout.size(), true);
        this.timeout = Memory.allocateDirect(rt, 16, true);
        this.readyTokens = new long[maxEvents];
        this.readyOps = new int[maxEvents];
    }

    // ---------------------------------------------------------------- changes (core's state lock)

    /**
     * Adds the wanted filters, each after a delete of the same filter in the same changelist.
     * FreeBSD's {@code kqueue_register} takes the file ({@code fget}) and attaches the knote with no
     * re-check that the fd is still open (OpenBSD's re-checks with {@code fd_checkclosed},
     * DragonFly's with {@code checkfdclosed}): a socket closed while it was being subscribed can
     * leave a knote that keeps its file open under the fd number, which {@code knote_fdclose} has
     * already passed, and which a delete cannot reach while the number is closed (EBADF from {@code
     * fget}). An EV_ADD for the next socket on that number would only replace that knote's udata,
     * and the new socket would never be reported. The delete drops it (and closes the old file);
     * where there is nothing to drop it is ENOENT, which a delete ignores. Core calls register
     * whenever an fd enters the kernel set, so every new socket on a number starts with fresh knotes.
     */
    @Override
    public void register(int fd, long token, int ops, int trigger) throws IOException {
        // kqueue accepts a regular file (always readable); the contract refuses it, as epoll does.
        Descriptors.requirePollable("kevent(EV_ADD", fd);
        int n = plan(fd, token, ops, trigger, 0, true);
        int failed = submit(n);
        if (failed >= 0) {
            NativeIOException e = failure(failed, fd);
            deleteBoth(fd); // whatever the changelist added before or after the failure: nothing half-registered
            throw e;
        }
    }

    @Override
    public void reregister(int fd, long token, int ops, int trigger, int oldOps, int oldTrigger)
            throws IOException {
        boolean recreate = trigger != oldTrigger;
        int n = plan(fd, token, ops, trigger, oldOps, recreate);
        if (n == 0) {
            return;
        }
        int failed = submit(n);
        if (failed < 0) {
            return;
        }
        putBack(fd, token, oldOps, oldTrigger, recreate, failure(failed, fd));
    }

    /**
     * After a changelist failed part-way (the kernel applies one change at a time, and goes on after
     * a failed one), puts the old registration back: both filters recreated if the trigger was
     * changing, else each filter set to its old state. Throws {@code e}, or {@link
     * RegistrationLostException} if putting back failed too (then nothing of {@code fd} is left).
     */
    private void putBack(int fd, long token, int oldOps, int oldTrigger, boolean recreate, NativeIOException e)
            throws IOException {
        int again = submit(restore(fd, token, oldOps, oldTrigger, recreate));
        // EBADF: the fd was closed, and its knotes went with it (knote_fdclose): nothing to put back.
        if (again >= 0 && receipts.getLong((long) again * layout.size() + DATA) != NativeErrors.EBADF) {
            NativeIOException restoreFailure = failure(again, fd);
            deleteBoth(fd);
            throw new RegistrationLostException(e, restoreFailure);
        }
        throw e;
    }

    /**
     * Writes the changes that take {@code fd} from {@code oldOps} to {@code ops}; returns how many.
     * With {@code recreate} both filters are deleted first (ENOENT for one never added is not an
     * error) and the wanted ones added with the new trigger; otherwise only a filter whose state
     * differs is touched: added and enabled, or disabled.
     */
    private int plan(int fd, long token, int ops, int trigger, int oldOps, boolean recreate) {
        int mode = modeFlag(trigger);
        int n = 0;
        for (int dir = READ; dir <= WRITE; dir <<= 1) {
            short filter = dir == READ ? EVFILT_READ : EVFILT_WRITE;
            boolean want = (ops & dir) != 0;
            boolean had = (oldOps & dir) != 0;
            if (recreate) {
                put(changes, n++, fd, filter, EV_DELETE, token);
                if (want) {
                    put(changes, n++, fd, filter, EV_ADD | EV_ENABLE | mode, token);
                }
            } else if (want && !had) {
                put(changes, n++, fd, filter, EV_ADD | EV_ENABLE | mode, token);
            } else if (!want && had) {
                put(changes, n++, fd, filter, EV_DISABLE, token);
            }
        }
        return n;
    }

    /** The changes that put back {@code oldOps} with {@code oldTrigger}, whatever state each filter is in. */
    private int restore(int fd, long token, int oldOps, int oldTrigger, boolean recreate) {
        int mode = modeFlag(oldTrigger);
        int n = 0;
        for (int dir = READ; dir <= WRITE; dir <<= 1) {
            short filter = dir == READ ? EVFILT_READ : EVFILT_WRITE;
            boolean had = (oldOps & dir) != 0;
            if (recreate) {
                put(changes, n++, fd, filter, EV_DELETE, token);
                if (had) {
                    put(changes, n++, fd, filter, EV_ADD | EV_ENABLE | mode, token);
                }
            } else {
                put(changes, n++, fd, filter, had ? EV_ADD | EV_ENABLE | mode : EV_DISABLE, token);
            }
        }
        return n;
    }

    /** EV_CLEAR for edge, EV_DISPATCH for one-shot: fixed when the knote is created. */
    private static int modeFlag(int trigger) {
        return trigger == EDGE ? EV_CLEAR : trigger == ONE_SHOT ? EV_DISPATCH : 0;
    }

    /** Writes the deletes of both filters of {@code fd}; returns how many (2). */
    private int deletes(int fd) {
        put(changes, 0, fd, EVFILT_READ, EV_DELETE, 0);
        put(changes, 1, fd, EVFILT_WRITE, EV_DELETE, 0);
        return 2;
    }

    /** Deletes both filters of {@code fd}; what the receipts say does not matter. */
    private void deleteBoth(int fd) {
        apply(deletes(fd));
    }

    /**
     * One change-only kevent call with a receipt for each of the {@code n} changes, made again
     * after a transient errno. Safe to repeat: a call that returns -1 applied none of its changes
     * (FreeBSD {@code kqueue_kevent} and XNU {@code kevent_internal} copy in the whole list before
     * registering any of it when it fits one batch, and report a failed change as a receipt, not as
     * the call's result), and a receipted change applied twice is the same change. EINTR cannot
     * come from a call that never waits (see the table); EAGAIN is never documented. Both are
     * retried all the same, a bounded number of times, because a user must never see them.
     */
    int apply(int n) {
        if (n < 1 || n > MAX_CHANGES) {
            // Never reached by the plans above (at most MAX_CHANGES by construction); a guard, so a
            // future plan that grows cannot make DragonFly write receipts past the receipt list.
            throw new IllegalStateException("a kevent changelist of " + n + " changes with room for "
                    + MAX_CHANGES + " receipts: refused before the call");
        }
        int got;
        for (int tries = 1; (got = lib.kevent(kq, changes, n, receipts, n, zeroTimeout)) < 0 && again(tries); tries++) {
            // a transient failure: make it again
        }
        return got;
    }

    /** Whether a call that failed on try {@code tries} should be made again: a transient errno, under the bound. */
    private boolean again(int tries) {
        return tries < NativeErrors.TRANSIENT_RETRIES && NativeErrors.isTransient(errno.getAsInt());
    }

    @Override
    public void deregister(int fd, long token, int oldOps, int oldTrigger) throws IOException {
        int failed = submit(deletes(fd));
        if (failed >= 0) {
            putBack(fd, token, oldOps, oldTrigger, false, failure(failed, fd)); // the other delete may be done
        }
    }

    private void put(Pointer list, int i, int fd, short filter, int flags, long token) {
        if (i >= MAX_CHANGES) {
            throw new IllegalStateException("change " + i + " does not fit a changelist of " + MAX_CHANGES);
        }
        long at = (long) i * layout.size();
        list.setMemory(at, layout.size(), (byte) 0);
        list.putLong(at + IDENT, fd);
        list.putShort(at + FILTER, filter);
        list.putShort(at + FLAGS, (short) (flags | EV_RECEIPT));
        list.putLong(at + UDATA, token);
    }

    /**
     * Applies {@code n} changes with receipts; returns the index of the first that failed with an
     * errno that matters, or -1. ENOENT (a disable or delete of a filter that is not there) and, for
     * deletes, EBADF (the fd is already closed) are not failures.
     */
    private int submit(int n) throws IOException {
        int got = apply(n);
        if (got < 0) {
            throw NativeErrors.exception("kevent(changes", (int) changes.getLong(IDENT), errno.getAsInt());
        }
        if (got != n) {
            throw noReceipts(got, n);
        }
        int failed = -1;
        for (int i = 0; i < n; i++) {
            long at = (long) i * layout.size();
            int flags = receipts.getShort(at + FLAGS) & 0xffff;
            if ((flags & EV_ERROR) == 0) {
                throw noReceipts(got, n); // a ready event where a receipt belongs
            }
            long data = receipts.getLong(at + DATA);
            if (data == 0 || failed >= 0) {
                continue;
            }
            int change = changes.getShort(at + FLAGS) & 0xffff;
            boolean quiet = (change & (EV_DISABLE | EV_DELETE)) != 0
                    && (data == NativeErrors.ENOENT || (change & EV_DELETE) != 0 && data == NativeErrors.EBADF);
            if (!quiet) {
                failed = i;
            }
        }
        return failed;
    }

    private static UnsupportedOperationException noReceipts(int got, int n) {
        return new UnsupportedOperationException("kevent returned " + got + " entries for " + n
                + " changes with EV_RECEIPT: this kernel ignores EV_RECEIPT (DragonFly BSD before 4.6),"
                + " so ready events would be taken for receipts; use the poll backend"
                + " (-Dpolyplex.backend=poll)");
    }

    /** The exception for change {@code i}, which failed: it names the action, the filter, the fd and the errno. */
    private NativeIOException failure(int i, int fd) {
        long at = (long) i * layout.size();
        int flags = changes.getShort(at + FLAGS) & 0xffff;
        String action = (flags & EV_DELETE) != 0 ? "EV_DELETE " : (flags & EV_ADD) != 0 ? "EV_ADD " : "EV_DISABLE ";
        return NativeErrors.exception("kevent(" + action + filterName(changes.getShort(at + FILTER)), fd,
                (int) receipts.getLong(at + DATA));
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
            if (NativeErrors.isTransient(e)) {
                return 0; // core waits again for the time left
            }
            throw NativeErrors.exception("kevent(wait", kq, e);
        }
        return merge(n);
    }

    /**
     * One event per registration: the bits of entries with the same fd and the same token (the two
     * filters of one socket) are or-ed together. Entries with the same fd but different tokens stay
     * apart: XNU's {@code kqueue_process} takes knotes off the queue until it is empty, without an
     * end marker, and {@code knote_process} drops the kqueue lock around each copy-out, so a knote
     * added for a reused fd number while the call runs can come back in the same batch as the old
     * socket's event (FreeBSD, OpenBSD and DragonFly {@code kqueue_scan} stop at a marker and
     * cannot). Core drops the stale token and delivers the current one; merged, the new socket's
     * bits would be credited to the old token and lost, and an EV_DISPATCH knote, which the kernel
     * has just disabled, would never fire again.
     */
    private int merge(int n) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            long at = (long) i * layout.size();
            int fd = (int) events.getLong(at + IDENT);
            long token = events.getLong(at + UDATA);
            int ops = bits(events.getShort(at + FILTER), events.getShort(at + FLAGS) & 0xffff,
                    events.getInt(at + FFLAGS));
            if (fd >= slotOfFd.length) {
                slotOfFd = Arrays.copyOf(slotOfFd, Math.max(fd + 1, slotOfFd.length * 2));
            }
            int slot = fd >= 0 ? slotOfFd[fd] - 1 : -1;
            if (slot >= 0 && readyTokens[slot] != token) {
                slot = slotOfToken(token, slot, count); // rare: a second socket on this fd number
            }
            if (slot >= 0) {
                readyOps[slot] |= ops;
            } else {
                readyTokens[count] = token;
                readyOps[count] = ops;
                if (fd >= 0 && slotOfFd[fd] == 0) {
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

    /** The merged entry after {@code first} (and before {@code count}) holding {@code token}, or -1. */
    private int slotOfToken(long token, int first, int count) {
        for (int s = first + 1; s < count; s++) {
            if (readyTokens[s] == token) {
                return s;
            }
        }
        return -1;
    }

    /**
     * Core's bits for one delivered event. EV_EOF means the peer closed only on the read filter; on
     * the write filter it means this side can send no more, which is no news about the peer.
     * {@code fflags} with EV_EOF is the socket error on both.
     */
    static int bits(short filter, int flags, int fflags) {
        int ops;
        if (filter == EVFILT_READ) {
            ops = READ;
            if ((flags & EV_EOF) != 0) {
                ops |= PEER_CLOSED | (fflags != 0 ? ERROR : 0);
            }
        } else if (filter == EVFILT_WRITE) {
            ops = WRITE;
            if ((flags & EV_EOF) != 0 && fflags != 0) {
                ops |= ERROR;
            }
        } else {
            ops = 0;
        }
        if ((flags & EV_ERROR) != 0) {
            ops |= ERROR | READ | WRITE;
        }
        return ops;
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
