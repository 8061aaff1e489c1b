package io.polyplex.poll;

import io.polyplex.internal.Descriptors;
import io.polyplex.internal.NativeErrors;
import io.polyplex.internal.WatchList;
import io.polyplex.spi.Backend;
import java.io.IOException;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * One poll(2) interest set. The set lives in user space ({@link WatchList}); each wait copies it
 * into a {@code struct pollfd} array (re-marshalled only when it changed) and scans the returned
 * {@code revents}. Changes made while another thread waits reach that wait because core wakes it
 * through the self-pipe ({@link #changesNeedWakeup()}), and it rebuilds.
 *
 * <p>{@code struct pollfd} is {@code {int fd; short events; short revents;}}: 8 bytes on every
 * platform. POLLRDHUP (0x2000) is requested on Linux only; elsewhere core probes peer close.
 */
final class PollBackend implements Backend {

    static final int POLLIN = 0x1;
    static final int POLLOUT = 0x4;
    static final int POLLERR = 0x8;
    static final int POLLHUP = 0x10;
    static final int POLLNVAL = 0x20;
    static final int POLLRDHUP = 0x2000;
    private static final int POLLFD_SIZE = 8;

    private final PollLibrary lib;
    private final Runtime runtime;
    private final int readMask;
    private final WatchList watched = new WatchList();
    private Pointer pollfds;
    private int capacity;
    // Ready entries of the last poll: indexes into the snapshot and their translated bits.
    private int[] readyIndex = new int[64];
    private int[] readyOps = new int[64];

    PollBackend(PollLibrary lib, boolean hasRdHup) {
        this.lib = lib;
        this.runtime = Runtime.getRuntime(lib);
        this.readMask = POLLIN | (hasRdHup ? POLLRDHUP : 0);
        ensureCapacity(64);
    }

    @Override
    public void register(int fd, long token, int ops, int trigger) throws IOException {
        Descriptors.requirePollable("poll(register", fd);
        watched.put(fd, token, ops);
    }

    @Override
    public void reregister(int fd, long token, int ops, int trigger) throws IOException {
        watched.put(fd, token, ops);
    }

    @Override
    public void deregister(int fd) {
        watched.remove(fd);
    }

    @Override
    public int poll(long timeoutNanos) throws IOException {
        if (watched.snapshot()) {
            marshal();
        }
        int n = watched.size();
        int millis = timeoutNanos < 0 ? -1 : (int) Math.min((timeoutNanos + 999_999) / 1_000_000, Integer.MAX_VALUE);
        int ready = lib.poll(pollfds, n, millis);
        if (ready < 0) {
            int errno = runtime.getLastError();
            if (errno == NativeErrors.EINTR) {
                return 0;
            }
            throw NativeErrors.exception("poll(nfds=" + n, -1, errno);
        }
        int count = 0;
        for (int i = 0; i < n && count < ready; i++) {
            int revents = pollfds.getShort((long) i * POLLFD_SIZE + 6) & 0xffff;
            if (revents != 0) {
                readyIndex[count] = i;
                readyOps[count] = translate(revents);
                count++;
            }
        }
        return count;
    }

    private void marshal() {
        int n = watched.size();
        ensureCapacity(n);
        for (int i = 0; i < n; i++) {
            int ops = watched.ops(i);
            int events = ((ops & READ) != 0 ? readMask : 0) | ((ops & WRITE) != 0 ? POLLOUT : 0);
            long at = (long) i * POLLFD_SIZE;
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
        pollfds = Memory.allocateDirect(runtime, capacity * POLLFD_SIZE, true);
        readyIndex = new int[capacity];
        readyOps = new int[capacity];
    }

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
        return watched.token(readyIndex[i]);
    }

    @Override
    public int readyOps(int i) {
        return readyOps[i];
    }

    @Override
    public boolean changesNeedWakeup() {
        return true;
    }

    @Override
    public void close() {
        // No kernel object: the pollfd array is direct memory, freed with this object.
    }
}
