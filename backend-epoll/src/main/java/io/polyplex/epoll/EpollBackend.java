package io.polyplex.epoll;

import io.polyplex.internal.NativeErrors;
import io.polyplex.spi.Backend;
import java.io.IOException;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * One epoll instance: a thin translation of core's interest bits and tokens to epoll_ctl and
 * epoll_wait. Owns the epoll fd (close-on-exec) and two direct buffers: the event array that
 * epoll_wait fills (used only by the polling thread) and one {@code struct epoll_event} for
 * epoll_ctl (used only under core's state lock).
 *
 * <p>{@code struct epoll_event} is packed on x86 (12 bytes, data at offset 4) and naturally aligned
 * elsewhere (16 bytes, data at 8); the layout is chosen from the CPU, never assumed.
 */
final class EpollBackend implements Backend {

    static final int EPOLLIN = 0x001;
    static final int EPOLLOUT = 0x004;
    static final int EPOLLERR = 0x008;
    static final int EPOLLHUP = 0x010;
    static final int EPOLLRDHUP = 0x2000;
    static final int EPOLLONESHOT = 1 << 30;
    static final int EPOLLET = 1 << 31;
    static final int EPOLL_CTL_ADD = 1;
    static final int EPOLL_CTL_DEL = 2;
    static final int EPOLL_CTL_MOD = 3;
    static final int EPOLL_CLOEXEC = 0x80000;

    /** Event size and offset of {@code data} for this CPU. */
    static final int EVENT_SIZE;
    static final int DATA_OFFSET;

    static {
        Platform.CPU cpu = Platform.getNativePlatform().getCPU();
        boolean packed = cpu == Platform.CPU.X86_64 || cpu == Platform.CPU.I386;
        EVENT_SIZE = packed ? 12 : 16;
        DATA_OFFSET = packed ? 4 : 8;
    }

    private final EpollLibrary lib;
    private final Runtime runtime;
    private final int epfd;
    private final int maxEvents;
    /**
     * The event array epoll_wait fills: a direct buffer in native order, read with the JDK's
     * intrinsic accessors (measured ~8 ns per event cheaper than jnr-ffi's Pointer reads), and
     * {@link #eventsAddress}, the same memory as a jnr-ffi pointer for the call.
     */
    private final java.nio.ByteBuffer events;
    private final Pointer eventsAddress;
    private final Pointer ctlEvent;

    EpollBackend(EpollLibrary lib, int maxEvents) throws IOException {
        this.lib = lib;
        this.runtime = Runtime.getRuntime(lib);
        this.maxEvents = maxEvents;
        int fd;
        int tries = 0;
        int errno = 0;
        while ((fd = lib.epoll_create1(EPOLL_CLOEXEC)) < 0
                && NativeErrors.isTransient(errno = runtime.getLastError()) && ++tries < NativeErrors.TRANSIENT_RETRIES) {
            // a transient failure: make it again
        }
        if (fd < 0) {
            throw NativeErrors.exception("epoll_create1(EPOLL_CLOEXEC", -1, errno);
        }
        this.epfd = fd;
        this.events = java.nio.ByteBuffer.allocateDirect(EVENT_SIZE * maxEvents).order(java.nio.ByteOrder.nativeOrder());
        this.eventsAddress = Pointer.wrap(runtime, events);
        this.ctlEvent = Memory.allocateDirect(runtime, EVENT_SIZE, true);
    }

    /** The epoll fd: readable while its ready list is not empty (Linux {@code ep_eventpoll_poll}). */
    @Override
    public int pollableFd() {
        return epfd;
    }

    @Override
    public void register(int fd, long token, int ops, int trigger) throws IOException {
        control(EPOLL_CTL_ADD, "epoll_ctl(ADD", fd, token, ops, trigger);
    }

    @Override
    public void reregister(int fd, long token, int ops, int trigger, int oldOps, int oldTrigger)
            throws IOException {
        control(EPOLL_CTL_MOD, "epoll_ctl(MOD", fd, token, ops, trigger);
    }

    private void control(int op, String call, int fd, long token, int ops, int trigger) throws IOException {
        int mask = 0;
        if ((ops & READ) != 0) {
            mask |= EPOLLIN | EPOLLRDHUP;
        }
        if ((ops & WRITE) != 0) {
            mask |= EPOLLOUT;
        }
        if (trigger == EDGE) {
            mask |= EPOLLET;
        } else if (trigger == ONE_SHOT) {
            mask |= EPOLLONESHOT;
        }
        ctlEvent.putInt(0, mask);
        ctlEvent.putLong(DATA_OFFSET, token);
        int errno = ctl(op, fd);
        if (errno == NativeErrors.EEXIST && op == EPOLL_CTL_ADD) {
            // The kernel kept a registration core believes gone: a DEL that said EBADF (the fd
            // closed) while the file lived on, e.g. through a dup. The MOD makes it ours again.
            errno = ctl(EPOLL_CTL_MOD, fd);
        }
        if (errno != 0) {
            throw NativeErrors.exception(call, fd, errno);
        }
    }

    /** One epoll_ctl with {@link #ctlEvent}, made again after a transient errno; 0 or the errno. */
    private int ctl(int op, int fd) {
        for (int tries = 1; ; tries++) {
            if (lib.epoll_ctl(epfd, op, fd, ctlEvent) == 0) {
                return 0;
            }
            int errno = runtime.getLastError();
            if (!NativeErrors.isTransient(errno) || tries >= NativeErrors.TRANSIENT_RETRIES) {
                return errno;
            }
        }
    }

    @Override
    public void deregister(int fd, long token, int oldOps, int oldTrigger) throws IOException {
        // Linux before 2.6.9 wanted a non-null event even for DEL; passing one costs nothing.
        int errno = ctl(EPOLL_CTL_DEL, fd);
        if (errno != 0 && errno != NativeErrors.ENOENT && errno != NativeErrors.EBADF) {
            throw NativeErrors.exception("epoll_ctl(DEL", fd, errno);
        }
    }

    @Override
    public int poll(long timeoutNanos) throws IOException {
        int millis;
        if (timeoutNanos < 0) {
            millis = -1;
        } else {
            // Round up: a 0.3 ms timeout must wait, not busy-return with 0.
            long ms = (timeoutNanos + 999_999) / 1_000_000;
            millis = (int) Math.min(ms, Integer.MAX_VALUE);
        }
        int n = lib.epoll_wait(epfd, eventsAddress, maxEvents, millis);
        if (n < 0) {
            int errno = runtime.getLastError();
            if (NativeErrors.isTransient(errno)) {
                return 0; // core waits again for the time left
            }
            throw NativeErrors.exception("epoll_wait(", epfd, errno);
        }
        return n;
    }

    @Override
    public long readyToken(int i) {
        return events.getLong(i * EVENT_SIZE + DATA_OFFSET);
    }

    @Override
    public int readyOps(int i) {
        int e = events.getInt(i * EVENT_SIZE);
        int ops = 0;
        if ((e & EPOLLIN) != 0) {
            ops |= READ;
        }
        if ((e & EPOLLOUT) != 0) {
            ops |= WRITE;
        }
        if ((e & EPOLLRDHUP) != 0) {
            ops |= READ | PEER_CLOSED;
        }
        if ((e & EPOLLHUP) != 0) {
            ops |= READ | WRITE | PEER_CLOSED;
        }
        if ((e & EPOLLERR) != 0) {
            ops |= READ | WRITE | ERROR;
        }
        return ops;
    }

    @Override
    public boolean changesNeedWakeup() {
        return false;
    }

    @Override
    public void close() {
        lib.close(epfd);
    }
}
