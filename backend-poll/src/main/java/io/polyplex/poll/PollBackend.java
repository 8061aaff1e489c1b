package io.polyplex.poll;

import io.polyplex.internal.Descriptors;
import io.polyplex.internal.NativeErrors;
import io.polyplex.internal.WatchList;
import io.polyplex.spi.Backend;
import java.io.IOException;
import java.util.function.IntUnaryOperator;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * One poll(2) interest set. poll keeps nothing in the kernel between calls, so the set lives in user
 * space: a {@link WatchList} (its own small lock, written by core's change calls) whose snapshot is
 * marshalled into a {@code struct pollfd} array, again only when it changed. Each wait calls poll on
 * that array without any lock and scans {@code revents}. A change made while another thread waits
 * reaches that wait because {@link #changesNeedWakeup()} is true: core wakes the waiter through the
 * self-pipe and the next wait takes a new snapshot. Each event carries the token of the snapshot the
 * wait was built from.
 *
 * <p>{@code struct pollfd} is {@code {int fd; short events; short revents;}}: 8 bytes on every
 * platform. POLLRDHUP (0x2000) is requested on Linux only, where the provider then announces a
 * kernel peer-closed flag; elsewhere core probes readable sockets for end of stream. POLLNVAL (an fd
 * closed without deregister) becomes {@link #INVALID}: core reports it once as ERROR and
 * deregisters it, and the other fds are unaffected, unlike select's EBADF for the whole call.
 *
 * <p>Steady state allocates nothing: the pollfd array and the ready arrays grow with the set (doubling)
 * and never shrink.
 */
final class PollBackend implements Backend {

    static final int POLLIN = 0x1;
    static final int POLLOUT = 0x4;
    static final int POLLERR = 0x8;
    static final int POLLHUP = 0x10;
    static final int POLLNVAL = 0x20;
    /** Linux's POLLRDHUP, the only one requested ({@code OsConstants.pollRdhup}). */
    static final int POLLRDHUP = 0x2000;
    static final int POLLFD_SIZE = 8;

    private final PollLibrary lib;
    private final Runtime runtime;
    private final int readMask;
    private final int maxEvents;
    private final WatchList watched = new WatchList();

    // Only the polling thread touches these.
    /** The struct pollfd array: a direct buffer in native order (JDK accessors, cheaper than
     * jnr-ffi's per read) and the same memory as a jnr-ffi pointer for the call. */
    private java.nio.ByteBuffer pollfds;
    private Pointer pollfdsAddress;
    private int capacity;
    /** {@link #reventsOf}, made once so that collecting allocates nothing. */
    private final IntUnaryOperator readyOf = this::reventsOf;

    /** @param pollRdhup POLLRDHUP to ask for with POLLIN, or 0 where poll(2) has none */
    PollBackend(PollLibrary lib, int pollRdhup, int maxEvents) {
        if (maxEvents <= 0) {
            throw new IllegalArgumentException("maxEvents must be positive: " + maxEvents);
        }
        this.lib = lib;
        this.runtime = Runtime.getRuntime(lib);
        this.readMask = POLLIN | pollRdhup;
        this.maxEvents = maxEvents;
        ensureCapacity(64);
    }

    // ---------------------------------------------------------------- changes (core's state lock)

    /**
     * Adds {@code fd}. poll would report a closed fd only at the next wait (POLLNVAL) and a regular
     * file as always ready, so the fd is checked here, as epoll_ctl would: negative or closed is
     * EBADF, a regular file EPERM.
     */
    @Override
    public void register(int fd, long token, int ops, int trigger) throws IOException {
        Descriptors.requirePollable("poll(register", fd);
        watched.put(fd, token, ops);
    }

    /** Replaces the interest of {@code fd}; a negative or closed fd is EBADF and changes nothing. */
    @Override
    public void reregister(int fd, long token, int ops, int trigger, int oldOps, int oldTrigger)
            throws IOException {
        if (!Descriptors.isOpen(fd)) {
            throw NativeErrors.exception("poll(reregister", fd, NativeErrors.EBADF);
        }
        watched.put(fd, token, ops);
    }

    /** Removes {@code fd}; one never added (or already gone) is a no-op. */
    @Override
    public void deregister(int fd, long token, int oldOps, int oldTrigger) {
        watched.remove(fd);
    }

    // ---------------------------------------------------------------- waiting (core's poll lock)

    /**
     * Waits, rounding the timeout up to whole milliseconds (a sub-millisecond wait must not become a
     * busy zero); no limit for a negative one.
     */
    @Override
    public int poll(long timeoutNanos) throws IOException {
        if (watched.snapshot()) {
            marshal();
        }
        int n = watched.size();
        int millis = timeoutNanos < 0 ? -1
                : (int) Math.min(timeoutNanos / 1_000_000 + (timeoutNanos % 1_000_000 == 0 ? 0 : 1), Integer.MAX_VALUE);
        int ready = lib.poll(pollfdsAddress, n, millis);
        if (ready < 0) {
            int errno = runtime.getLastError();
            if (NativeErrors.isTransient(errno)) {
                return 0; // core waits again for the time left
            }
            throw NativeErrors.exception("poll(nfds=" + n, -1, errno);
        }
        return ready == 0 ? 0 : watched.collectReady(maxEvents, ready, readyOf);
    }

    /** The ready bits of snapshot entry {@code i} after a wait: its revents, translated. */
    private int reventsOf(int i) {
        int revents = pollfds.getShort(i * POLLFD_SIZE + 6) & 0xffff;
        return revents == 0 ? 0 : translate(revents);
    }

    private void marshal() {
        int n = watched.size();
        ensureCapacity(n);
        for (int i = 0; i < n; i++) {
            int ops = watched.ops(i);
            int events = ((ops & READ) != 0 ? readMask : 0) | ((ops & WRITE) != 0 ? POLLOUT : 0);
            int at = i * POLLFD_SIZE;
            pollfds.putInt(at, watched.fd(i));
            pollfds.putShort(at + 4, (short) events);
            pollfds.putShort(at + 6, (short) 0);
        }
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) {
            return;
        }
        capacity = Math.max(n, capacity * 2);
        pollfds = java.nio.ByteBuffer.allocateDirect(capacity * POLLFD_SIZE).order(java.nio.ByteOrder.nativeOrder());
        pollfdsAddress = Pointer.wrap(runtime, pollfds);
    }

    /**
     * revents to core's bits. POLLHUP (both directions shut) means the peer is gone and reads and
     * writes will not block; POLLERR that a read or write will report the error.
     */
    static int translate(int revents) {
        if ((revents & POLLNVAL) != 0) {
            return INVALID;
        }
        int ops = 0;
        if ((revents & POLLIN) != 0) {
            ops |= READ;
        }
        if ((revents & POLLOUT) != 0) {
            ops |= WRITE;
        }
        if ((revents & POLLRDHUP) != 0) {
            ops |= READ | PEER_CLOSED;
        }
        if ((revents & POLLHUP) != 0) {
            ops |= READ | WRITE | PEER_CLOSED;
        }
        if ((revents & POLLERR) != 0) {
            ops |= READ | WRITE | ERROR;
        }
        return ops;
    }

    @Override
    public long readyToken(int i) {
        return watched.readyToken(i);
    }

    @Override
    public int readyOps(int i) {
        return watched.readyOps(i);
    }

    /** True: poll is handed a copy of the set, so a blocked wait must be woken to see a change. */
    @Override
    public boolean changesNeedWakeup() {
        return true;
    }

    /** No kernel object to close: the pollfd array is direct memory, freed with this object. */
    @Override
    public void close() {
    }
}
