package io.polyplex.kqueue;

import static io.polyplex.kqueue.KqueueBackend.EVFILT_READ;
import static io.polyplex.kqueue.KqueueBackend.EVFILT_WRITE;
import static io.polyplex.kqueue.KqueueBackend.EV_ADD;
import static io.polyplex.kqueue.KqueueBackend.EV_CLEAR;
import static io.polyplex.kqueue.KqueueBackend.EV_DELETE;
import static io.polyplex.kqueue.KqueueBackend.EV_DISABLE;
import static io.polyplex.kqueue.KqueueBackend.EV_DISPATCH;
import static io.polyplex.kqueue.KqueueBackend.EV_ENABLE;
import static io.polyplex.kqueue.KqueueBackend.EV_EOF;
import static io.polyplex.kqueue.KqueueBackend.EV_ERROR;
import static io.polyplex.kqueue.KqueueBackend.EV_ONESHOT;
import static io.polyplex.kqueue.KqueueBackend.EV_RECEIPT;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import jnr.constants.platform.Errno;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.Variadic;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;
import jnr.posix.FileStat;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * kqueue(2) and kevent(2) emulated on Linux for the kqueue backend's tests: the registration and
 * scan rules of FreeBSD's and XNU's own kernel sources, over real sockets whose readiness real
 * poll(2) reports, reading and writing the backend's raw {@code struct kevent} memory in either
 * {@link KeventLayout}. Where the two kernels differ it follows one {@link Flavour}. Every rule below
 * was read from the kernel function it names (FreeBSD {@code sys/kern/kern_event.c} and {@code
 * sys/kern/uipc_socket.c}, 12.3 to 15-CURRENT; XNU {@code bsd/kern/kern_event.c} and {@code
 * bsd/kern/uipc_socket.c}, xnu-6153 to xnu-11417), never from the backend: the backend is what the
 * emulation tests.
 *
 * <table>
 *   <caption>The kernel rules the emulation follows</caption>
 *   <tr><th>#</th><th>rule</th><th>FreeBSD</th><th>XNU (macOS)</th></tr>
 *   <tr><td>1</td><td>Changes are applied one by one in changelist order; EV_SYSFLAGS (0xf000: EV_EOF,
 *       EV_ERROR, ...) are cleared from each change first.</td><td>{@code kqueue_kevent}</td><td>{@code
 *       kevent_internal}, {@code kevent_legacy_copyin}</td></tr>
 *   <tr><td>2</td><td>A change that failed, or carries EV_RECEIPT, is written back to the eventlist
 *       with {@code data} = its errno or 0. FreeBSD <em>replaces</em> its flags with EV_ERROR; XNU
 *       ORs EV_ERROR into them, after rewriting EV_ADD|EV_DELETE to EV_DELETE and
 *       EV_ENABLE|EV_DISABLE to EV_DISABLE.</td><td>{@code kqueue_kevent}</td><td>{@code
 *       kevent_register} (the rewrite), {@code kevent_internal}</td></tr>
 *   <tr><td>3</td><td>No room left for such an entry: FreeBSD returns at once (-1 and the errno if the
 *       change failed, else 0), leaving the later changes unapplied; XNU stops with -1 and the errno
 *       if it failed, and drops a successful receipt silently and goes on.</td><td>{@code
 *       kqueue_kevent}</td><td>{@code kevent_internal}</td></tr>
 *   <tr><td>4</td><td>If any entry was written, the call returns their count without waiting for
 *       events, whatever the timeout; otherwise it waits (and with {@code nevents} 0 returns 0 at
 *       once).</td><td>{@code kqueue_kevent} ({@code nerrors}), {@code kqueue_scan}</td><td>{@code
 *       kevent_internal} ({@code noutputs})</td></tr>
 *   <tr><td>5</td><td>Lookup order. FreeBSD checks EV_ENABLE with EV_DISABLE (EINVAL), then the fd
 *       ({@code fget}): a closed fd is EBADF for every action, EV_DELETE included; then the knote.
 *       XNU looks the knote up first: without EV_ADD a missing one is ENOENT (EV_DELETE of a closed fd
 *       included), and only EV_ADD of a new knote looks the fd up (EBADF).</td><td>{@code
 *       kqueue_register}</td><td>{@code kevent_register}, {@code kq_find_knote_and_kq_lock}, {@code
 *       fp_lookup}</td></tr>
 *   <tr><td>6</td><td>EV_DELETE on an existing knote drops it (and wins over EV_ADD).</td><td>{@code
 *       kqueue_register}, {@code knote_drop}</td><td>{@code kevent_register}, {@code knote_drop}</td></tr>
 *   <tr><td>7</td><td>Any other change to an existing knote replaces {@code udata} and leaves EV_CLEAR,
 *       EV_ONESHOT and EV_DISPATCH as they were at creation (FreeBSD's EV_FORCEONESHOT, 0x100, adds
 *       EV_ONESHOT and activates it). EV_ENABLE clears the disabled state, EV_DISABLE sets it; EV_ADD
 *       alone does not re-enable. Then, if enabled, readiness is evaluated and a ready knote is queued
 *       at once.</td><td>{@code kqueue_register} (label {@code done_ev_add})</td><td>{@code
 *       kevent_register} (touch path), {@code knote_apply_touch}</td></tr>
 *   <tr><td>8</td><td>EV_ADD of a new knote stores the change's flags (EV_CLEAR, EV_ONESHOT,
 *       EV_DISPATCH, EV_RECEIPT, ...), is enabled unless EV_DISABLE is given, and is queued at once if
 *       ready.</td><td>{@code kqueue_register}</td><td>{@code kevent_register}</td></tr>
 *   <tr><td>9</td><td>close(2) drops every knote of that fd number silently; nothing is delivered.
 *       (Emulated by the file's identity: a knote whose fd no longer names the file it was added on
 *       was dropped.)</td><td>{@code knote_fdclose}</td><td>{@code knote_fdclose}</td></tr>
 *   <tr><td>10</td><td>Delivery: a queued EV_ONESHOT knote is delivered and dropped (FreeBSD without
 *       re-checking readiness, XNU after {@code f_process}); every other knote is re-checked and not
 *       delivered if no longer ready; after delivery EV_DISPATCH disables it, EV_CLEAR leaves it
 *       inactive until the socket's next wakeup, and a level knote stays queued.</td><td>{@code
 *       kqueue_scan}</td><td>{@code knote_process}, {@code kqfile_end_processing}</td></tr>
 *   <tr><td>11</td><td>A delivered event carries the stored flags (so EV_RECEIPT, EV_CLEAR, ... show;
 *       XNU also EV_ADD and EV_ENABLE) plus EV_EOF, which once set stays set.</td><td>{@code
 *       kqueue_scan}</td><td>{@code knote_fill_kevent}</td></tr>
 *   <tr><td>12</td><td>EVFILT_READ on a connected socket: {@code data} = bytes readable; EV_EOF
 *       once it can receive no more (peer FIN, own SHUT_RD, reset) even with data left, {@code
 *       fflags} = the socket error; a socket error alone makes it ready without EV_EOF; else ready
 *       with at least one byte.</td><td>{@code filt_soread}</td><td>{@code filt_soread_common}</td></tr>
 *   <tr><td>13</td><td>EVFILT_READ on a listening socket: ready while a connection waits. FreeBSD
 *       sets EV_EOF with {@code fflags} = the socket error when it has one (a listener shut down
 *       gets ECONNABORTED from {@code tcp_usr_shutdown}); XNU never sets EV_EOF on a listener (and
 *       its shutdown(2) of a listener fails with ENOTCONN).</td><td>{@code filt_soread} ({@code
 *       SOLISTENING})</td><td>{@code filt_soread_common} ({@code SO_ACCEPTCONN})</td></tr>
 *   <tr><td>14</td><td>EVFILT_WRITE: EV_EOF once the socket can send no more (our own
 *       shutdown(SHUT_WR), a reset, a failed connect), {@code fflags} = the socket error; a socket
 *       error alone makes it ready; a stream socket not (yet) connected is not ready; else ready
 *       while there is room. A listener is never writable.</td><td>{@code filt_sowrite}</td><td>{@code
 *       filt_sowrite_common}</td></tr>
 *   <tr><td>15</td><td>Pipes: EVFILT_READ gets EV_EOF when the writer is gone, EVFILT_WRITE when the
 *       reader is gone.</td><td>{@code filt_piperead}, {@code filt_pipewrite}</td><td>{@code
 *       filt_piperead}, {@code filt_pipewrite}</td></tr>
 *   <tr><td>16</td><td>A change made by one thread reaches a wait blocked in another: the knote is
 *       queued on the kqueue and the sleeper woken.</td><td>{@code knote_enqueue}, {@code
 *       kqueue_wakeup}</td><td>{@code knote_enqueue}, {@code kqueue_wakeup}</td></tr>
 *   <tr><td>17</td><td>Timeouts: NULL waits forever, zero does not wait, a negative field or
 *       {@code tv_nsec} &ge; 10<sup>9</sup> (XNU: &gt;) is EINVAL; XNU also refuses {@code tv_sec}
 *       &gt; INT32_MAX, FreeBSD waits forever then.</td><td>{@code kqueue_scan}</td><td>{@code
 *       kevent_legacy_get_deadline}, {@code timespec_is_valid}</td></tr>
 *   <tr><td>18</td><td>{@link Flavour#NO_RECEIPTS}: DragonFly BSD before 4.6 did not know EV_RECEIPT
 *       (added in commit 790e2e5, 2015): only failed changes produce entries, and the call then waits
 *       for events as usual.</td><td colspan="2">DragonFly {@code kern_kevent} before 4.6</td></tr>
 *   <tr><td>19</td><td>{@link Flavour#DRAGONFLY}: FreeBSD's rules, but an entry for a failed or
 *       EV_RECEIPT change is written through {@code kevent_copyoutfn} with no look at {@code nevents}
 *       (which only counts down): with less room than receipts the kernel writes past the caller's
 *       list. The emulation cannot write out of bounds; it throws {@link AssertionError} instead, so a
 *       caller that would be overrun fails loudly.</td><td colspan="2">DragonFly {@code kern_kevent}
 *       (4.6 and newer)</td></tr>
 *   <tr><td>20</td><td>A close racing an EV_ADD. FreeBSD's {@code kqueue_register} takes the file
 *       ({@code fget}), then links the new knote into {@code kq_knlist[fd]} ({@code knote_attach})
 *       and attaches it, with no look back at the descriptor table; {@code knote_fdclose}, which
 *       close(2) runs under the descriptor table's lock, drops only the knotes already on that
 *       list. A close that falls between the two leaves a knote that holds the closed file open
 *       ({@code kn_fp}) under the fd number. Until it is deleted, a lookup by (fd, filter) finds it:
 *       an EV_ADD for a new file on the reused number only replaces its udata (rule 7), and its
 *       readiness is the old file's; an EV_DELETE on the number drops it (and closes the file) once
 *       the number is open again ({@code fget} succeeds), while on a number still closed it is
 *       EBADF (rule 5) and the knote stays. OpenBSD ({@code fd_checkclosed}) and DragonFly ({@code
 *       checkfdclosed}) re-check after the attach and drop such a knote. Emulated on demand ({@link
 *       #closeDuringNextAdd}), FreeBSD flavour only: XNU's {@code kq_add_knote} does not re-check
 *       either, but its close waits in {@code fileproc_drain} for the registering thread's I/O
 *       reference, which this emulation does not model.</td><td>{@code kqueue_register}, {@code
 *       knote_attach}, {@code knote_fdclose}</td><td>-</td></tr>
 * </table>
 *
 * <p>Approximations, honestly. The socket error is reported as ECONNRESET whenever poll(2) says
 * POLLERR (reading the real one, SO_ERROR, would clear it). "Can send no more" is a zero-length
 * non-blocking send that fails with EPIPE (it sends nothing). A listener is one that was listening
 * when its knote was added. An EV_CLEAR knote hears of wakeups from an edge-triggered Linux epoll on
 * its file: Linux wakes a socket's waiters where FreeBSD's {@code sowakeup} and XNU's {@code
 * knote_post} would (new data, room made, a state change), though not always with the same
 * granularity. A FreeBSD EV_ONESHOT knote is known active only from what a wait saw (the kernel
 * would also deliver one that became ready and unready between two waits). {@code data} of
 * EVFILT_WRITE is 0 (the backend does not read it). None of the backend's code is used here, only
 * its constants, which the backend's tests check against the headers.
 */
public final class EmulatedKqueue implements KqueueLibrary {

    /** Where FreeBSD's and XNU's rules differ (see the table), which to follow. */
    public enum Flavour {
        FREEBSD, DARWIN,
        /** DragonFly BSD before 4.6: FreeBSD's rules, but EV_RECEIPT is ignored. */
        NO_RECEIPTS,
        /**
         * DragonFly BSD 4.6 and newer, for rule 19 only: receipts are written with no room check.
         * Every other rule is the FreeBSD flavour's, which is no claim that DragonFly follows them.
         */
        DRAGONFLY
    }

    /** The Linux calls the emulation stands on. */
    public interface Linux {
        int poll(Pointer fds, @size_t long nfds, int timeout);

        int pipe2(@Out int[] fds, int flags);

        @Variadic(fixedCount = 2)
        int fcntl(int fd, int cmd, int arg);

        @Variadic(fixedCount = 2)
        int ioctl(int fd, long request, Pointer arg);

        @ssize_t long read(int fd, Pointer buf, @size_t long n);

        @ssize_t long write(int fd, Pointer buf, @size_t long n);

        @ssize_t long recv(int fd, Pointer buf, @size_t long n, int flags);

        @ssize_t long send(int fd, Pointer buf, @size_t long n, int flags);

        int getsockopt(int fd, int level, int name, Pointer value, Pointer len);

        int epoll_create1(int flags);

        int epoll_ctl(int epfd, int op, int fd, Pointer event);

        int epoll_wait(int epfd, Pointer events, int maxevents, int timeout);

        int close(int fd);
    }

    private static final Linux LINUX = LibraryLoader.create(Linux.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());
    private static final POSIX POSIX = POSIXFactory.getNativePOSIX();
    private static final Runtime RT = Runtime.getSystemRuntime();
    // Linux values (the emulation runs on Linux only).
    private static final int POLLIN = 0x1;
    private static final int POLLOUT = 0x4;
    private static final int POLLERR = 0x8;
    private static final int POLLHUP = 0x10;
    private static final int POLLNVAL = 0x20;
    private static final int POLLRDHUP = 0x2000;
    private static final long FIONREAD = 0x541B;
    private static final int MSG_PEEK = 0x2;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_ACCEPTCONN = 30;
    private static final int EPOLLIN = 0x1;
    private static final int EPOLLOUT = 0x4;
    private static final int EPOLLERR = 0x8;
    private static final int EPOLLHUP = 0x10;
    private static final int EPOLLRDHUP = 0x2000;
    private static final int EPOLLET = 1 << 31;
    private static final boolean EPOLL_PACKED = Platform.getNativePlatform().getCPU() == Platform.CPU.X86_64;
    private static final int EPOLL_EVENT_SIZE = EPOLL_PACKED ? 12 : 16;
    private static final int EPOLL_DATA = EPOLL_PACKED ? 4 : 8;
    private static final int EV_SYSFLAGS = 0xf000;
    static final int EV_FORCEONESHOT = 0x100;
    private static final int F_DUPFD_CLOEXEC = 1030; // Linux
    private static final int EBADF = Errno.EBADF.intValue();
    private static final int ENOENT = Errno.ENOENT.intValue();
    private static final int EINVAL = Errno.EINVAL.intValue();
    private static final int EPIPE = Errno.EPIPE.intValue();
    private static final int ENOTSOCK = Errno.ENOTSOCK.intValue();
    private static final int ECONNRESET = Errno.ECONNRESET.intValue();
    private static final int ECONNABORTED = Errno.ECONNABORTED.intValue();

    private final KeventLayout layout;
    private final Flavour flavour;
    private final Pointer wakeByte = Memory.allocateDirect(RT, 1, true);
    private final Map<Integer, Queue> queues = new HashMap<>();
    private final ThreadLocal<int[]> lastError = ThreadLocal.withInitial(() -> new int[1]);
    /** Faults to inject: the next change matching one fails with its errno, without being applied. */
    private final List<Fault> faults = new ArrayList<>();

    public EmulatedKqueue(KeventLayout layout, Flavour flavour) {
        this.layout = Objects.requireNonNull(layout);
        this.flavour = Objects.requireNonNull(flavour);
    }

    /** errno of this thread's last failed call, as the backend's errno supplier reads it. */
    int lastError() {
        return lastError.get()[0];
    }

    /** Sets this thread's errno, as a fault-injecting wrapper of this kernel does. */
    void setLastError(int errno) {
        lastError.get()[0] = errno;
    }

    private int fail(int errno) {
        lastError.get()[0] = errno;
        return -1;
    }

    // ------------------------------------------------------------------ fault injection

    /** A change to fail: its filter and the action bit it must carry (EV_ADD, EV_DELETE, ...). */
    record Fault(short filter, int action, int errno) { }

    /**
     * Makes the next change with this filter and action fail with {@code errno}, reported the way
     * the kernel reports a failed change (rule 2): as an EV_ERROR entry, or as the call's errno when
     * no room is left. The change is not applied; the changes around it are.
     */
    public synchronized void failNext(short filter, int action, int errno) {
        faults.add(new Fault(filter, action, errno));
    }

    /** Closes to run inside the next EV_ADD that creates a knote for an fd (rule 20). */
    private final Map<Integer, Runnable> races = new HashMap<>();

    /**
     * Makes the next EV_ADD that creates a knote for {@code fd} run {@code close} (which must close
     * {@code fd}) after the kernel took the file and before it attached the knote: FreeBSD's
     * window (rule 20). The change succeeds, and the knote holds the closed file under {@code fd}.
     * FreeBSD flavour only.
     */
    public synchronized void closeDuringNextAdd(int fd, Runnable close) {
        if (flavour != Flavour.FREEBSD) {
            throw new UnsupportedOperationException("rule 20 is FreeBSD's");
        }
        races.put(fd, Objects.requireNonNull(close));
    }

    private synchronized Runnable takeRace(int fd) {
        return races.remove(fd);
    }

    private synchronized int injectedFault(short filter, int flags) {
        for (int i = 0; i < faults.size(); i++) {
            Fault f = faults.get(i);
            if (f.filter() == filter && (flags & f.action()) != 0) {
                faults.remove(i);
                return f.errno();
            }
        }
        return 0;
    }

    // ------------------------------------------------------------------ state

    /** One (ident, filter) registration: a knote. */
    private static final class Knote {
        final int ident;
        /** The fd this emulation reads the knote's file through: {@code ident}, or a dup for an orphan. */
        final int file;
        /** Attached after its fd was closed (rule 20): holds its own file, never dropped by close. */
        final boolean orphan;
        final short filter;
        /** The file it was added on (rule 9). */
        final long dev;
        final long ino;
        final boolean socket;
        final boolean listener;
        /** Flags stored at creation (rule 8), plus EV_EOF once set (rule 11). */
        int flags;
        long udata;
        boolean disabled;
        /** KN_ACTIVE: readiness seen and not yet consumed (an EV_CLEAR knote until delivered). */
        boolean active;
        boolean dropped;

        Knote(int ident, int file, boolean orphan, short filter, long dev, long ino, boolean socket, boolean listener) {
            this.ident = ident;
            this.file = file;
            this.orphan = orphan;
            this.filter = filter;
            this.dev = dev;
            this.ino = ino;
            this.socket = socket;
            this.listener = listener;
        }
    }

    /**
     * One emulated kqueue: its knotes, the pipe that is its fd and wakes its waiter, and an
     * edge-triggered Linux epoll that hears the wakeups of the files behind its EV_CLEAR knotes.
     */
    private static final class Queue {
        final int readFd;
        final int writeFd;
        final int epfd;
        /** fd -> the epoll mask it is registered with (EV_CLEAR knotes only). */
        final Map<Integer, Integer> epollMasks = new HashMap<>();
        final Pointer epollEvents = Memory.allocateDirect(RT, 64L * EPOLL_EVENT_SIZE, true);
        final Pointer ctlEvent = Memory.allocateDirect(RT, EPOLL_EVENT_SIZE, true);
        final Map<Long, Knote> knotes = new HashMap<>();
        /** The same knotes in a list, so a wait iterates without allocating. */
        final List<Knote> all = new ArrayList<>();
        // The waiting thread's buffers (one waiter at a time: the backend's poll lock), reused.
        final List<Knote> watched = new ArrayList<>();
        Pointer pollfds = Memory.allocateDirect(RT, 8L * 64, true);
        /** Scratch memory of the waiting thread, and of the thread making changes (under the lock). */
        final Pointer waitScratch = Memory.allocateDirect(RT, 64, true);
        final Pointer changeScratch = Memory.allocateDirect(RT, 64, true);

        Queue(int readFd, int writeFd, int epfd) {
            this.readFd = readFd;
            this.writeFd = writeFd;
            this.epfd = epfd;
        }
    }

    private static long key(int ident, short filter) {
        return ((long) ident << 8) | (filter & 0xff);
    }

    private static void drop(Queue q, Knote k) {
        q.knotes.remove(key(k.ident, k.filter));
        q.all.remove(k);
        k.dropped = true;
        if (k.orphan) {
            LINUX.close(k.file); // knote_drop: fdrop of the file it held
        }
        if ((k.flags & EV_CLEAR) != 0) {
            hearWakeups(q, k.ident);
        }
    }

    /**
     * Keeps {@code fd}'s edge-triggered epoll registration in line with its EV_CLEAR knotes. Linux
     * queues an EPOLLET event for each wakeup of the file (a new segment or skb arrived, room was
     * made, the state changed), which is what FreeBSD's {@code sowakeup} and XNU's {@code knote_post}
     * tell an EV_CLEAR knote: so the emulation learns of wakeups from Linux's own.
     */
    private static void hearWakeups(Queue q, int fd) {
        int mask = 0;
        Knote r = q.knotes.get(key(fd, EVFILT_READ));
        Knote w = q.knotes.get(key(fd, EVFILT_WRITE));
        if (r != null && (r.flags & EV_CLEAR) != 0) {
            mask |= EPOLLIN | EPOLLRDHUP;
        }
        if (w != null && (w.flags & EV_CLEAR) != 0) {
            mask |= EPOLLOUT;
        }
        Integer was = q.epollMasks.get(fd);
        if (mask == 0) {
            if (was != null) {
                q.epollMasks.remove(fd);
                LINUX.epoll_ctl(q.epfd, 2 /* DEL */, fd, q.ctlEvent); // ENOENT if closed meanwhile: fine
            }
            return;
        }
        q.ctlEvent.putInt(0, mask | EPOLLET);
        q.ctlEvent.putLong(EPOLL_DATA, fd);
        if (was == null || LINUX.epoll_ctl(q.epfd, 3 /* MOD */, fd, q.ctlEvent) < 0) {
            LINUX.epoll_ctl(q.epfd, 1 /* ADD */, fd, q.ctlEvent);
        }
        q.epollMasks.put(fd, mask);
    }

    /** What a test can see of the kernel's state: one line per knote, sorted. */
    public synchronized List<String> knotes(int kq) {
        Queue q = queues.get(kq);
        if (q == null) {
            return List.of();
        }
        synchronized (q) {
            List<String> out = new ArrayList<>();
            for (Knote k : q.all) {
                if (!stillOpen(k)) {
                    continue; // dropped at close (rule 9), seen lazily
                }
                out.add(k.ident + "/" + (k.filter == EVFILT_READ ? "read" : "write")
                        + (k.disabled ? " disabled" : " enabled")
                        + ((k.flags & EV_CLEAR) != 0 ? " clear" : "") + ((k.flags & EV_ONESHOT) != 0 ? " oneshot" : "")
                        + ((k.flags & EV_DISPATCH) != 0 ? " dispatch" : "") + (k.orphan ? " orphan" : "")
                        + " udata=" + Long.toHexString(k.udata));
            }
            out.sort(null);
            return out;
        }
    }

    private int lastQueue = -1;

    /** The fd of the kqueue this emulation opened last. */
    public synchronized int lastQueue() {
        return lastQueue;
    }

    /** Number of emulated kqueues open: a test checks that a failed open left none. */
    public synchronized int openQueues() {
        return queues.size();
    }

    // ------------------------------------------------------------------ KqueueLibrary

    @Override
    public synchronized int kqueue() {
        int[] fds = new int[2];
        if (LINUX.pipe2(fds, 0x80000 | 0x800) < 0) { // O_CLOEXEC | O_NONBLOCK (Linux)
            return fail(RT.getLastError());
        }
        int epfd = LINUX.epoll_create1(0x80000); // EPOLL_CLOEXEC
        if (epfd < 0) {
            int e = RT.getLastError();
            LINUX.close(fds[0]);
            LINUX.close(fds[1]);
            return fail(e);
        }
        queues.put(fds[0], new Queue(fds[0], fds[1], epfd));
        lastQueue = fds[0];
        return fds[0];
    }

    @Override
    public int fcntl(int fd, int cmd, int arg) {
        return LINUX.fcntl(fd, cmd, arg);
    }

    @Override
    public synchronized int close(int fd) {
        Queue q = queues.remove(fd);
        if (q == null) {
            return fail(EBADF); // never close a number this emulation does not own
        }
        synchronized (q) {
            for (Knote k : new ArrayList<>(q.all)) {
                if (k.orphan) {
                    drop(q, k); // kqueue_drain drops every knote, and the files they hold
                }
            }
        }
        LINUX.close(q.writeFd);
        LINUX.close(q.epfd);
        return LINUX.close(fd);
    }

    @Override
    public int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout) {
        Queue q;
        synchronized (this) {
            q = queues.get(kq);
        }
        if (q == null) {
            return fail(EBADF);
        }
        if (flavour == Flavour.DARWIN && timeout != null && !validTimeout(timeout)) {
            return fail(EINVAL); // rule 17: XNU checks it before anything else
        }
        int out = 0;
        if (nchanges > 0) {
            int room = nevents;
            synchronized (q) {
                for (int i = 0; i < nchanges; i++) {
                    long at = (long) i * layout.size();
                    int flags = changelist.getShort(at + KeventLayout.FLAGS) & 0xffff & ~EV_SYSFLAGS; // rule 1
                    int err = applyChange(q, changelist, i, flags);
                    boolean receipt = (flags & EV_RECEIPT) != 0 && flavour != Flavour.NO_RECEIPTS;
                    if (err == 0 && !receipt) {
                        continue;
                    }
                    if (out == room) { // rule 3
                        if (flavour == Flavour.DRAGONFLY) { // rule 19
                            throw new AssertionError("DragonFly kern_kevent would write entry " + (out + 1)
                                    + " past the caller's list of " + nevents + ": a buffer overrun");
                        }
                        if (flavour != Flavour.DARWIN) {
                            return err != 0 ? fail(err) : 0;
                        }
                        if (err != 0) {
                            return fail(err);
                        }
                        continue;
                    }
                    long to = (long) out * layout.size();
                    copy(changelist, i, eventlist, out);
                    int written = flavour == Flavour.DARWIN ? darwinRewrite(flags) | EV_ERROR : EV_ERROR; // rule 2
                    eventlist.putShort(to + KeventLayout.FLAGS, (short) written);
                    eventlist.putLong(to + KeventLayout.DATA, err);
                    out++;
                }
            }
            wake(kq, q);
            if (out > 0 || nevents == 0) {
                return out; // rule 4
            }
        }
        if (nevents == 0) {
            return 0;
        }
        if (timeout != null && !validTimeout(timeout)) {
            return fail(EINVAL); // rule 17: FreeBSD checks it in kqueue_scan
        }
        return waitFor(q, eventlist, nevents, timeout);
    }

    private boolean validTimeout(Pointer ts) {
        long sec = ts.getLong(0);
        long nsec = ts.getLong(8);
        if (sec < 0 || nsec < 0) {
            return false;
        }
        if (flavour == Flavour.DARWIN) {
            return nsec <= 1_000_000_000L && sec <= Integer.MAX_VALUE;
        }
        return nsec < 1_000_000_000L;
    }

    /** XNU's rewrite of a change's flags before it is echoed (rule 2). */
    private static int darwinRewrite(int flags) {
        if ((flags & EV_DELETE) != 0) {
            flags &= ~EV_ADD;
        }
        if ((flags & EV_DISABLE) != 0) {
            flags &= ~EV_ENABLE;
        }
        return flags;
    }

    private synchronized void wake(int kq, Queue q) {
        if (queues.get(kq) == q) { // not closed meanwhile: its write end is still ours
            LINUX.write(q.writeFd, wakeByte, 1); // rule 16
        }
    }

    private void copy(Pointer from, int i, Pointer to, int j) {
        for (int b = 0; b < layout.size(); b += 8) {
            to.putLong((long) j * layout.size() + b, from.getLong((long) i * layout.size() + b));
        }
    }

    /** Applies change {@code i} (rules 5 to 9); returns 0 or its errno. */
    private int applyChange(Queue q, Pointer list, int i, int flags) {
        long at = (long) i * layout.size();
        long ident = list.getLong(at + KeventLayout.IDENT);
        short filter = list.getShort(at + KeventLayout.FILTER);
        long udata = list.getLong(at + KeventLayout.UDATA);
        if (filter != EVFILT_READ && filter != EVFILT_WRITE) {
            return EINVAL; // not a filter this emulation knows
        }
        int injected = injectedFault(filter, flags);
        if (injected != 0) {
            return injected;
        }
        int fd = ident > Integer.MAX_VALUE ? -1 : (int) ident;
        boolean darwin = flavour == Flavour.DARWIN;
        if (darwin) {
            flags = darwinRewrite(flags);
        } else if ((flags & (EV_ENABLE | EV_DISABLE)) == (EV_ENABLE | EV_DISABLE)) {
            return EINVAL;
        }
        if (!darwin && !isOpen(fd)) {
            return EBADF; // FreeBSD: fget first, for every action
        }
        Knote k = fd < 0 ? null : q.knotes.get(key(fd, filter));
        if (k != null && !stillOpen(k)) {
            drop(q, k); // the fd was closed since: its knote went with it (rule 9)
            k = null;
        }
        if (k == null) {
            if ((flags & EV_ADD) == 0) {
                return ENOENT;
            }
            if (!isOpen(fd)) {
                return EBADF; // XNU: fp_lookup for a new knote only
            }
            int file = fd;
            Runnable race = takeRace(fd);
            if (race != null) { // rule 20: the file is held (fget), then the fd is closed before the attach
                if ((flags & EV_CLEAR) != 0) {
                    throw new UnsupportedOperationException("the close race is emulated for level and dispatch knotes");
                }
                file = LINUX.fcntl(fd, F_DUPFD_CLOEXEC, 0);
                race.run();
            }
            FileStat st = STAT.get();
            POSIX.fstat(file, st);
            boolean socket = st.isSocket();
            k = new Knote(fd, file, race != null, filter, st.dev(), st.ino(), socket,
                    socket && isListening(file, q.changeScratch));
            k.flags = darwin ? flags : flags & ~(EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE | EV_FORCEONESHOT);
            k.udata = udata;
            k.disabled = (flags & EV_DISABLE) != 0;
            q.knotes.put(key(fd, filter), k);
            q.all.add(k);
            if ((k.flags & EV_CLEAR) != 0) {
                hearWakeups(q, fd);
            }
            evaluateOnRegister(k, q.changeScratch);
            return 0;
        }
        if ((flags & EV_DELETE) != 0) {
            drop(q, k); // rule 6
            return 0;
        }
        k.udata = udata; // rule 7
        if (!darwin && (flags & EV_FORCEONESHOT) != 0) {
            k.flags |= EV_ONESHOT;
            k.active = true;
        }
        if ((flags & EV_ENABLE) != 0) {
            k.disabled = false;
        } else if ((flags & EV_DISABLE) != 0) {
            k.disabled = true;
        }
        evaluateOnRegister(k, q.changeScratch);
        return 0;
    }

    /** Rules 7 and 8: an enabled knote that is ready now is queued at once. */
    private void evaluateOnRegister(Knote k, Pointer scratch) {
        if (k.disabled) {
            return;
        }
        int revents = pollOne(k, scratch);
        Look look = look(k, revents, scratch);
        if (look.ready) {
            k.active = true;
        }
    }

    private static boolean isOpen(int fd) {
        return fd >= 0 && LINUX.fcntl(fd, 1 /* F_GETFD */, 0) >= 0;
    }

    private static final ThreadLocal<FileStat> STAT = ThreadLocal.withInitial(POSIX::allocateStat);

    /** Whether {@code k}'s fd still names the file it was added on (rule 9). */
    private static boolean stillOpen(Knote k) {
        if (k.orphan) {
            return true; // rule 20: knote_fdclose has run already and will not come back for it
        }
        FileStat st = STAT.get();
        return k.ident >= 0 && POSIX.fstat(k.ident, st) >= 0 && st.dev() == k.dev && st.ino() == k.ino;
    }

    private static boolean isListening(int fd, Pointer scratch) {
        scratch.putInt(0, 0);
        scratch.putInt(8, 4);
        return LINUX.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, scratch, scratch.slice(8)) == 0 && scratch.getInt(0) != 0;
    }

    // ------------------------------------------------------------------ filters (rules 12 to 15)

    /** What one look at a knote's file says: the filter's verdict and its fields. */
    private static final class Look {
        boolean ready;
        boolean eof;
        int fflags;
        long data;
    }

    private final ThreadLocal<Look> looks = ThreadLocal.withInitial(Look::new);

    private int pollOne(Knote k, Pointer scratch) {
        scratch.putInt(16, k.file);
        scratch.putShort(20, (short) (k.filter == EVFILT_READ ? POLLIN | POLLRDHUP : POLLOUT));
        scratch.putShort(22, (short) 0);
        return LINUX.poll(scratch.slice(16), 1, 0) > 0 ? scratch.getShort(22) & 0xffff : 0;
    }

    private Look look(Knote k, int revents, Pointer scratch) {
        Look l = looks.get();
        l.ready = false;
        l.eof = false;
        l.fflags = 0;
        l.data = 0;
        boolean error = (revents & POLLERR) != 0;
        if (k.filter == EVFILT_READ) {
            if (k.listener) {
                boolean shut = (revents & (POLLHUP | POLLRDHUP)) != 0; // Linux: the listener was shut down
                if (shut && flavour != Flavour.DARWIN) {
                    l.eof = true; // FreeBSD: tcp_usr_shutdown set so_error = ECONNABORTED
                    l.fflags = ECONNABORTED;
                    l.ready = true;
                } else {
                    l.ready = !shut && (revents & POLLIN) != 0;
                    l.data = l.ready ? 1 : 0;
                }
                return l;
            }
            l.data = readable(k, revents, scratch);
            l.eof = (revents & (POLLRDHUP | POLLHUP)) != 0 || error;
            l.fflags = error ? ECONNRESET : 0;
            l.ready = l.eof || error || l.data > 0 || !k.socket && (revents & POLLIN) != 0;
            return l;
        }
        if (k.listener) {
            return l; // never writable
        }
        if (k.socket) {
            l.eof = error || (revents & POLLHUP) != 0 || cannotSendMore(k.file);
        } else {
            l.eof = error || (revents & POLLHUP) != 0; // pipe: the reader is gone
        }
        l.fflags = error && k.socket ? ECONNRESET : 0;
        l.ready = l.eof || (revents & POLLOUT) != 0;
        return l;
    }

    private static final Pointer PEEK = Memory.allocateDirect(RT, 1 << 16, false);

    /**
     * Bytes readable (up to 64 KiB) without consuming them: recv(MSG_PEEK|MSG_DONTWAIT), which is not
     * variadic (jnr-ffi's variadic path, which ioctl needs, allocates per call, and the allocation
     * tests count it); ioctl(FIONREAD) for a pipe, or for a socket in error, whose error a peek would
     * consume.
     */
    private static long readable(Knote k, int revents, Pointer scratch) {
        if (k.socket && (revents & POLLERR) == 0) {
            long n;
            synchronized (PEEK) {
                n = LINUX.recv(k.file, PEEK, 1 << 16, MSG_PEEK | MSG_DONTWAIT);
            }
            if (n >= 0 || RT.getLastError() != ENOTSOCK) {
                return Math.max(n, 0);
            }
        }
        return LINUX.ioctl(k.file, FIONREAD, scratch) < 0 ? 0 : scratch.getInt(0);
    }

    /** Whether the socket can send no more: a zero-length send says EPIPE (nothing is sent). */
    private static boolean cannotSendMore(int fd) {
        return LINUX.send(fd, PEEK, 0, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && RT.getLastError() == EPIPE;
    }

    // ------------------------------------------------------------------ waiting (rules 10, 11, 16, 17)

    private int waitFor(Queue q, Pointer eventlist, int nevents, Pointer timeout) {
        long deadline;
        if (timeout == null || flavour != Flavour.DARWIN && timeout.getLong(0) > Integer.MAX_VALUE) {
            deadline = Long.MAX_VALUE;
        } else {
            deadline = System.nanoTime() + timeout.getLong(0) * 1_000_000_000L + timeout.getLong(8);
        }
        while (true) {
            // Level and one-shot knotes are watched with poll(2); EV_CLEAR ones through the epoll.
            List<Knote> watched = q.watched;
            watched.clear();
            boolean queued = false;
            synchronized (q) {
                for (int i = 0; i < q.all.size(); i++) {
                    Knote k = q.all.get(i);
                    if (!k.disabled) {
                        if ((k.flags & EV_CLEAR) == 0) {
                            watched.add(k);
                        }
                        queued |= k.active;
                    }
                }
            }
            int n = watched.size() + 2;
            if (q.pollfds.size() < 8L * n) {
                q.pollfds = Memory.allocateDirect(RT, 16L * n, true);
            }
            Pointer fds = q.pollfds;
            fds.putInt(0, q.readFd);
            fds.putShort(4, (short) POLLIN);
            fds.putShort(6, (short) 0);
            fds.putInt(8, q.epfd);
            fds.putShort(12, (short) POLLIN);
            fds.putShort(14, (short) 0);
            for (int i = 0; i < watched.size(); i++) {
                Knote k = watched.get(i);
                long at = 8L * (i + 2);
                fds.putInt(at, k.file);
                fds.putShort(at + 4, (short) (k.filter == EVFILT_READ ? POLLIN | POLLRDHUP : POLLOUT));
                fds.putShort(at + 6, (short) 0);
            }
            long left = deadline - System.nanoTime();
            int millis = queued ? 0 : deadline == Long.MAX_VALUE ? -1
                    : (int) Math.max(0, Math.min((left + 999_999) / 1_000_000, Integer.MAX_VALUE));
            if (LINUX.poll(fds, n, millis) < 0) {
                return fail(RT.getLastError()); // EINTR: the caller retries
            }
            if ((fds.getShort(6) & POLLIN) != 0) {
                while (LINUX.read(q.readFd, q.waitScratch, 64) > 0) {
                    // changes arrived (rule 16): look again
                }
            }
            int out = 0;
            synchronized (q) {
                if ((fds.getShort(14) & POLLIN) != 0) {
                    takeWakeups(q);
                }
                for (int i = 0; i < watched.size() && out < nevents; i++) {
                    Knote k = watched.get(i);
                    int revents = fds.getShort(8L * (i + 2) + 6) & 0xffff;
                    if (k.dropped || k.disabled
                            || revents == 0 && !(k.active && oneshotWithoutRecheck(k))) {
                        k.active = false; // changed meanwhile, or re-checked and not ready
                        continue;
                    }
                    if (deliverOrDrop(q, k, revents, eventlist, out)) {
                        out++;
                    }
                }
                for (int i = q.all.size() - 1; i >= 0 && out < nevents; i--) { // backwards: drops are safe
                    Knote k = q.all.get(i);
                    if ((k.flags & EV_CLEAR) != 0 && k.active && !k.disabled
                            && deliverOrDrop(q, k, pollOne(k, q.waitScratch), eventlist, out)) {
                        out++;
                    }
                }
            }
            if (out > 0 || System.nanoTime() - deadline >= 0) {
                return out;
            }
        }
    }

    /** Marks the EV_CLEAR knotes whose files Linux woke since the last look as active. */
    private void takeWakeups(Queue q) {
        int got;
        while ((got = LINUX.epoll_wait(q.epfd, q.epollEvents, 64, 0)) > 0) {
            for (int i = 0; i < got; i++) {
                long at = (long) i * EPOLL_EVENT_SIZE;
                int bits = q.epollEvents.getInt(at);
                int fd = (int) q.epollEvents.getLong(at + EPOLL_DATA);
                if ((bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
                    activate(q.knotes.get(key(fd, EVFILT_READ)));
                }
                if ((bits & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
                    activate(q.knotes.get(key(fd, EVFILT_WRITE)));
                }
            }
            if (got < 64) {
                return;
            }
        }
    }

    private static void activate(Knote k) {
        if (k != null && (k.flags & EV_CLEAR) != 0) {
            k.active = true;
        }
    }

    /**
     * Rules 9 to 11 for a knote that may be delivered: dropped if its fd was closed, else delivered
     * if its filter says ready (or, FreeBSD, if it is a queued one-shot); then one-shot drops,
     * dispatch disables, clear deactivates.
     */
    private boolean deliverOrDrop(Queue q, Knote k, int revents, Pointer eventlist, int out) {
        if (!stillOpen(k)) {
            drop(q, k); // closed (rule 9): silently gone
            return false;
        }
        boolean wasActive = k.active;
        Look l = look(k, revents, q.waitScratch);
        if (!l.ready && !(wasActive && oneshotWithoutRecheck(k))) {
            k.active = false; // re-checked, no longer ready: not delivered
            return false;
        }
        if (l.eof) {
            k.flags |= EV_EOF; // sticky (rule 11)
        }
        long at = (long) out * layout.size();
        eventlist.setMemory(at, layout.size(), (byte) 0);
        eventlist.putLong(at + KeventLayout.IDENT, k.ident);
        eventlist.putShort(at + KeventLayout.FILTER, k.filter);
        eventlist.putShort(at + KeventLayout.FLAGS, (short) k.flags);
        eventlist.putInt(at + KeventLayout.FFLAGS, l.fflags);
        eventlist.putLong(at + KeventLayout.DATA, l.data);
        eventlist.putLong(at + KeventLayout.UDATA, k.udata);
        if ((k.flags & EV_ONESHOT) != 0) {
            drop(q, k);
        } else if ((k.flags & EV_DISPATCH) != 0) {
            k.disabled = true;
            k.active = false;
        } else {
            k.active = (k.flags & EV_CLEAR) == 0; // a level knote stays queued
        }
        return true;
    }

    /** FreeBSD's {@code kqueue_scan} delivers a queued EV_ONESHOT knote without asking the filter again. */
    private boolean oneshotWithoutRecheck(Knote k) {
        return (k.flags & EV_ONESHOT) != 0 && flavour != Flavour.DARWIN;
    }

}
