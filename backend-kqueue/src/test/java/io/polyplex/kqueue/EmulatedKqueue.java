package io.polyplex.kqueue;

import static io.polyplex.kqueue.KqueueBackend.EVFILT_READ;
import static io.polyplex.kqueue.KqueueBackend.EVFILT_WRITE;
import static io.polyplex.kqueue.KqueueBackend.EV_ADD;
import static io.polyplex.kqueue.KqueueBackend.EV_CLEAR;
import static io.polyplex.kqueue.KqueueBackend.EV_DELETE;
import static io.polyplex.kqueue.KqueueBackend.EV_DISABLE;
import static io.polyplex.kqueue.KqueueBackend.EV_ENABLE;
import static io.polyplex.kqueue.KqueueBackend.EV_EOF;
import static io.polyplex.kqueue.KqueueBackend.EV_ERROR;
import static io.polyplex.kqueue.KqueueBackend.EV_ONESHOT;
import static io.polyplex.kqueue.KqueueBackend.EV_RECEIPT;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

/**
 * kqueue(2) and kevent(2) emulated on Linux, from the raw memory the backend writes, in either
 * {@link KeventLayout}, on top of real poll(2): the only way to run the conformance suite against the
 * kqueue backend on this machine. It follows the man page (FreeBSD/macOS kqueue(2)), not the
 * backend's code:
 *
 * <table>
 *   <caption>Rules and the man-page sentence each comes from</caption>
 *   <tr><th>rule</th><th>kqueue(2)</th></tr>
 *   <tr><td>EV_ADD creates the knote (ident, filter) or updates its flags and udata; it is enabled
 *       unless EV_DISABLE is also given</td><td>"Re-adding an existing event will modify the
 *       parameters of the original event, and not result in a duplicate entry. Adding an event
 *       automatically enables it, unless overridden by the EV_DISABLE flag."</td></tr>
 *   <tr><td>EV_ENABLE / EV_DISABLE switch reporting; ENOENT if there is no such knote</td><td>"Permit
 *       kevent() to return the event if it is triggered." / "Disable the event so kevent() will not
 *       return it." / "ENOENT The event could not be found to be modified or deleted."</td></tr>
 *   <tr><td>EV_DELETE removes the knote, ENOENT if absent; a knote whose fd was closed is dropped
 *       (seen here as POLLNVAL)</td><td>"Removes the event from the kqueue. Events which are attached
 *       to file descriptors are automatically deleted on the last close of the descriptor."</td></tr>
 *   <tr><td>EV_ADD of a closed fd fails with EBADF</td><td>"EBADF The specified descriptor is
 *       invalid."</td></tr>
 *   <tr><td>EV_RECEIPT: every change comes back as an EV_ERROR entry, data 0 or the errno; a
 *       failing change without it also comes back that way</td><td>"When passed as input, it forces
 *       EV_ERROR to always be returned. When a filter is successfully added the data field will be
 *       zero."</td></tr>
 *   <tr><td>EVFILT_READ reports readable data; EV_EOF once the read side is shut down, even with
 *       data still pending; fflags carries the socket error</td><td>"returns whenever there is data
 *       available to read" / "If the read direction of the socket has shutdown, then the filter also
 *       sets EV_EOF in flags, and returns the socket error (if any) in fflags. It is possible for EOF
 *       to be returned (indicating the connection is gone) while there is still data pending in the
 *       socket buffer."</td></tr>
 *   <tr><td>EVFILT_WRITE reports room to write; EV_EOF when the reader is gone</td><td>"returns
 *       whenever it is possible to write to the descriptor" / "When the reader disconnects, the filter
 *       will set EV_EOF."</td></tr>
 *   <tr><td>EV_ONESHOT: reported once, then deleted</td><td>"Causes the event to return only the
 *       first occurrence of the filter being triggered. After the user retrieves the event from the
 *       kqueue, it is deleted."</td></tr>
 *   <tr><td>EV_CLEAR: reported on a transition (more bytes to read, writable again), not while the
 *       state merely persists</td><td>"After the event is retrieved by the user, its state is reset.
 *       This is useful for filters which report state transitions instead of the current
 *       state."</td></tr>
 *   <tr><td>a change made while another thread waits applies to that wait</td><td>(kqueue applies
 *       changes to the kernel object; a blocked kevent() sees them)</td></tr>
 * </table>
 *
 * <p>Approximations, honestly: EV_CLEAR's "transition" is judged by the readable byte count
 * (FIONREAD) differing from the last report or a filter becoming ready again (so a read that
 * leaves a different count than was reported can give one spurious edge, and new data that brings the
 * count back to exactly the reported one is missed); while an EV_CLEAR knote stays ready and
 * unchanged, the emulated wait re-polls every 10 ms instead of sleeping in the kernel. The socket
 * error in fflags is a non-zero ECONNRESET whenever poll says POLLERR, because reading the real one
 * (SO_ERROR) on Linux would clear it from the socket. The kqueue fd is the read end of a pipe that
 * also wakes a waiting kevent() when another thread changes the knotes.
 */
public final class EmulatedKqueue implements KqueueLibrary {

    /** The Linux calls the emulation stands on. */
    public interface Linux {
        int poll(Pointer fds, @size_t long nfds, int timeout);

        int pipe2(@Out int[] fds, int flags);

        @Variadic(fixedCount = 2)
        int fcntl(int fd, int cmd, int arg);

        @Variadic(fixedCount = 2)
        int ioctl(int fd, long request, Pointer arg);

        @ssize_t long read(int fd, Pointer buf, @size_t long n);

        @ssize_t long recv(int fd, Pointer buf, @size_t long n, int flags);

        @ssize_t long write(int fd, Pointer buf, @size_t long n);

        int close(int fd);
    }

    private static final Linux LINUX = LibraryLoader.create(Linux.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());
    private static final Runtime RT = Runtime.getSystemRuntime();
    private static final int POLLIN = 0x1;
    private static final int POLLOUT = 0x4;
    private static final int POLLERR = 0x8;
    private static final int POLLHUP = 0x10;
    private static final int POLLNVAL = 0x20;
    private static final int POLLRDHUP = 0x2000;
    private static final long FIONREAD = 0x541B;
    private static final int EBADF = Errno.EBADF.intValue();
    private static final int ENOENT = Errno.ENOENT.intValue();
    private static final int ECONNRESET = Errno.ECONNRESET.intValue();

    private final KeventLayout layout;
    private final Pointer wakeByte = Memory.allocateDirect(RT, 1, true);
    private final Map<Integer, Queue> queues = new HashMap<>();
    private final ThreadLocal<int[]> lastError = ThreadLocal.withInitial(() -> new int[1]);

    EmulatedKqueue(KeventLayout layout) {
        this.layout = layout;
    }

    /** errno of this thread's last failed call, as the backend's errno supplier reads it. */
    int lastError() {
        return lastError.get()[0];
    }

    private void fail(int errno) {
        lastError.get()[0] = errno;
    }

    /** One (ident, filter) registration. */
    private static final class Knote {
        final int ident;
        final short filter;
        long udata;
        boolean enabled = true;
        boolean clear;
        boolean oneshot;
        long lastBytes = -1; // EV_CLEAR: what was last reported
        boolean lastReady;
        boolean removed;

        Knote(int ident, short filter) {
            this.ident = ident;
            this.filter = filter;
        }
    }

    /** One emulated kqueue: its knotes and its wake pipe. */
    private static final class Queue {
        final int readFd;
        final int writeFd;
        final Map<Long, Knote> knotes = new HashMap<>();
        /** The same knotes in a list, so a wait iterates without allocating. */
        final List<Knote> all = new ArrayList<>();
        // Buffers of the waiting thread (one at a time: the backend's poll lock), reused.
        final List<Knote> watched = new ArrayList<>();
        Pointer pollfds = Memory.allocateDirect(RT, 8L * 64, true);
        final Pointer scratch = Memory.allocateDirect(RT, 64, true);

        Queue(int readFd, int writeFd) {
            this.readFd = readFd;
            this.writeFd = writeFd;
        }
    }

    private static void remove(Queue q, Knote k) {
        q.knotes.remove(key(k.ident, k.filter));
        q.all.remove(k);
        k.removed = true;
    }

    private static long key(int ident, short filter) {
        return ((long) ident << 8) | (filter & 0xff);
    }

    @Override
    public synchronized int kqueue() {
        int[] fds = new int[2];
        if (LINUX.pipe2(fds, 0x80000 | 0x800) < 0) { // O_CLOEXEC | O_NONBLOCK
            fail(RT.getLastError());
            return -1;
        }
        queues.put(fds[0], new Queue(fds[0], fds[1]));
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
            fail(EBADF); // never close a number this emulation does not own
            return -1;
        }
        LINUX.close(q.writeFd);
        return LINUX.close(fd);
    }

    @Override
    public int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout) {
        Queue q;
        synchronized (this) {
            q = queues.get(kq);
        }
        if (q == null) {
            fail(EBADF);
            return -1;
        }
        int out = 0;
        if (nchanges > 0) {
            synchronized (q) {
                for (int i = 0; i < nchanges; i++) {
                    int err = applyChange(q, changelist, i);
                    int flags = changelist.getShort((long) i * layout.size() + KeventLayout.FLAGS) & 0xffff;
                    if ((err != 0 || (flags & EV_RECEIPT) != 0) && out < nevents) {
                        copy(changelist, i, eventlist, out);
                        eventlist.putShort((long) out * layout.size() + KeventLayout.FLAGS, (short) (flags | EV_ERROR));
                        eventlist.putLong((long) out * layout.size() + KeventLayout.DATA, err);
                        out++;
                    }
                }
            }
            synchronized (this) {
                if (queues.get(kq) == q) { // not closed meanwhile: its write end is still ours
                    LINUX.write(q.writeFd, wakeByte, 1); // wake a waiter so it sees the change
                }
            }
            if (out > 0 || nevents == 0) {
                return out;
            }
        }
        return nevents == 0 ? 0 : waitFor(q, eventlist, nevents, timeout);
    }

    private void copy(Pointer from, int i, Pointer to, int j) {
        byte[] b = new byte[layout.size()];
        from.get((long) i * layout.size(), b, 0, b.length);
        to.put((long) j * layout.size(), b, 0, b.length);
    }

    /** Applies change {@code i}; returns 0 or the errno for it. */
    private int applyChange(Queue q, Pointer list, int i) {
        long at = (long) i * layout.size();
        int ident = (int) list.getLong(at + KeventLayout.IDENT);
        short filter = list.getShort(at + KeventLayout.FILTER);
        int flags = list.getShort(at + KeventLayout.FLAGS) & 0xffff;
        long udata = list.getLong(at + KeventLayout.UDATA);
        long key = key(ident, filter);
        Knote k = q.knotes.get(key);
        if ((flags & EV_DELETE) != 0) {
            if (k == null) {
                return ENOENT;
            }
            remove(q, k);
            return 0;
        }
        if ((flags & EV_ADD) != 0) {
            if (ident < 0 || LINUX.fcntl(ident, 1 /* F_GETFD */, 0) < 0) {
                return EBADF;
            }
            if (k == null) {
                k = new Knote(ident, filter);
                q.knotes.put(key, k);
                q.all.add(k);
            }
            k.udata = udata;
            k.clear = (flags & EV_CLEAR) != 0;
            k.oneshot = (flags & EV_ONESHOT) != 0;
            k.enabled = (flags & EV_DISABLE) == 0;
            k.lastBytes = -1;
            k.lastReady = false;
            return 0;
        }
        if (k == null) {
            return ENOENT;
        }
        if ((flags & EV_DISABLE) != 0) {
            k.enabled = false;
        } else if ((flags & EV_ENABLE) != 0) {
            k.enabled = true;
        }
        return 0;
    }

    private int waitFor(Queue q, Pointer eventlist, int nevents, Pointer timeout) {
        long deadline = timeout == null ? Long.MAX_VALUE
                : System.nanoTime() + timeout.getLong(0) * 1_000_000_000L + timeout.getLong(8);
        while (true) {
            List<Knote> watched = q.watched;
            watched.clear();
            synchronized (q) {
                for (int i = 0; i < q.all.size(); i++) {
                    Knote k = q.all.get(i);
                    if (k.enabled) {
                        watched.add(k);
                    }
                }
            }
            int n = watched.size() + 1;
            if (q.pollfds.size() < 8L * n) {
                q.pollfds = Memory.allocateDirect(RT, 16L * n, true);
            }
            Pointer fds = q.pollfds;
            fds.putInt(0, q.readFd);
            fds.putShort(4, (short) POLLIN);
            for (int i = 0; i < watched.size(); i++) {
                Knote k = watched.get(i);
                fds.putInt(8L * (i + 1), k.ident);
                fds.putShort(8L * (i + 1) + 4, (short) (k.filter == EVFILT_READ ? POLLIN | POLLRDHUP : POLLOUT));
            }
            long left = deadline - System.nanoTime();
            boolean saturated = false;
            for (int i = 0; i < watched.size(); i++) {
                saturated |= watched.get(i).clear && watched.get(i).lastReady;
            }
            int millis = deadline == Long.MAX_VALUE ? -1 : (int) Math.max(0, Math.min((left + 999_999) / 1_000_000, Integer.MAX_VALUE));
            if (saturated) {
                millis = millis < 0 ? 10 : Math.min(millis, 10);
            }
            int ready = LINUX.poll(fds, n, millis);
            if (ready < 0) {
                fail(RT.getLastError());
                return -1; // EINTR and friends: the caller retries
            }
            if ((fds.getShort(6) & POLLIN) != 0) {
                while (LINUX.read(q.readFd, q.scratch, 64) > 0) {
                    // changes arrived: rebuild
                }
            }
            int out = 0;
            synchronized (q) {
                for (int i = 0; i < watched.size() && out < nevents; i++) {
                    Knote k = watched.get(i);
                    int revents = fds.getShort(8L * (i + 1) + 6) & 0xffff;
                    if (k.removed || !k.enabled) {
                        continue; // changed meanwhile
                    }
                    if ((revents & POLLNVAL) != 0) {
                        remove(q, k); // "deleted on the last close"
                        continue;
                    }
                    boolean readyNow = revents != 0;
                    if (!readyNow) {
                        k.lastReady = false;
                        continue;
                    }
                    int flags = 0;
                    if (k.filter == EVFILT_READ && (revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0
                            || k.filter == EVFILT_WRITE && (revents & (POLLHUP | POLLERR)) != 0) {
                        flags |= EV_EOF;
                    }
                    long bytes = k.filter == EVFILT_READ ? readable(k.ident, revents, q.scratch) : 0;
                    if (k.clear && k.lastReady && bytes == k.lastBytes) {
                        k.lastBytes = bytes;
                        continue; // EV_CLEAR: no transition since the last report
                    }
                    k.lastReady = true;
                    k.lastBytes = bytes;
                    long at = (long) out * layout.size();
                    eventlist.setMemory(at, layout.size(), (byte) 0);
                    eventlist.putLong(at + KeventLayout.IDENT, k.ident);
                    eventlist.putShort(at + KeventLayout.FILTER, k.filter);
                    eventlist.putShort(at + KeventLayout.FLAGS, (short) flags);
                    eventlist.putInt(at + KeventLayout.FFLAGS, (revents & POLLERR) != 0 ? ECONNRESET : 0);
                    eventlist.putLong(at + KeventLayout.DATA, bytes);
                    eventlist.putLong(at + KeventLayout.UDATA, k.udata);
                    out++;
                    if (k.oneshot) {
                        remove(q, k); // "After the user retrieves the event ... it is deleted."
                    }
                }
            }
            if (out > 0 || System.nanoTime() - deadline >= 0) {
                return out;
            }
        }
    }

    private static final Pointer PEEK = Memory.allocateDirect(RT, 1 << 16, false);

    /**
     * Bytes readable (up to 64 KiB) without consuming them: recv(MSG_PEEK|MSG_DONTWAIT), which is not
     * variadic (jnr-ffi's variadic path, which ioctl needs, allocates per call and would be counted by
     * the allocation tests); ioctl(FIONREAD) only for what is no socket (a pipe).
     */
    private static long readable(int fd, int revents, Pointer scratch) {
        if ((revents & POLLERR) != 0) { // a peek would consume the socket error (SO_ERROR)
            return LINUX.ioctl(fd, FIONREAD, scratch) < 0 ? 0 : scratch.getInt(0);
        }
        long n;
        synchronized (PEEK) {
            n = LINUX.recv(fd, PEEK, 1 << 16, 0x2 | 0x40); // MSG_PEEK | MSG_DONTWAIT (Linux)
        }
        if (n >= 0 || RT.getLastError() != Errno.ENOTSOCK.intValue()) {
            return Math.max(n, 0);
        }
        return LINUX.ioctl(fd, FIONREAD, scratch) < 0 ? 0 : scratch.getInt(0);
    }
}
