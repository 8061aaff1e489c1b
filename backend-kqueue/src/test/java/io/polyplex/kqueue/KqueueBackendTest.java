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
import static io.polyplex.kqueue.KqueueBackend.EV_DISPATCH;
import static io.polyplex.kqueue.KqueueBackend.EV_RECEIPT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.NativeIOException;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import io.polyplex.internal.NativeErrors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kqueue backend over a Mockito {@link KqueueLibrary}, for both {@code struct kevent} layouts:
 * the exact changelist bytes each API call writes, and faults a real kernel will not produce on
 * demand (EV_ERROR receipts, EINTR). A real kqueue runs only on macOS and the BSDs (CI's matrix).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class KqueueBackendTest {

    /** A socket that is just an fd number: nothing here touches a real kqueue. */
    record Fd(int fd) { }

    /** One kevent as written or read, decoded through the layout under test. */
    record Kev(long ident, short filter, int flags, int fflags, long data, long udata) {
        static Kev read(Pointer p, KeventLayout l, int i) {
            long at = (long) i * l.size();
            return new Kev(p.getLong(at + KeventLayout.IDENT), p.getShort(at + KeventLayout.FILTER),
                    p.getShort(at + KeventLayout.FLAGS) & 0xffff, p.getInt(at + KeventLayout.FFLAGS),
                    p.getLong(at + KeventLayout.DATA), p.getLong(at + KeventLayout.UDATA));
        }

        void write(Pointer p, KeventLayout l, int i) {
            long at = (long) i * l.size();
            p.putLong(at + KeventLayout.IDENT, ident);
            p.putShort(at + KeventLayout.FILTER, filter);
            p.putShort(at + KeventLayout.FLAGS, (short) flags);
            p.putInt(at + KeventLayout.FFLAGS, fflags);
            p.putLong(at + KeventLayout.DATA, data);
            p.putLong(at + KeventLayout.UDATA, udata);
        }
    }

    /** A kernel that is one kevent function: kqueue() gives fd 99, fcntl and close succeed. */
    @FunctionalInterface
    interface KernelCall extends KqueueLibrary {
        @Override
        default int kqueue() {
            return 99;
        }

        @Override
        default int fcntl(int fd, int cmd, int arg) {
            return 0;
        }

        @Override
        default int close(int fd) {
            return 0;
        }
    }

    /** A scripted kernel: records changes, answers receipts, hands out scripted wait results. */
    static final class Kernel {
        final KeventLayout layout;
        final List<Kev> changes = new ArrayList<>();
        final Map<String, Integer> failures = new HashMap<>(); // "filter/flag" -> errno
        final List<Kev> nextWait = new ArrayList<>();
        int waitErrno; // non-zero: the next wait fails with it
        int changeErrno; // non-zero: the next change calls fail as a whole with it
        int changeFailures = 1; // how many change calls in a row fail with changeErrno
        int changeCalls; // change calls made, failed or not
        int errno;
        final KqueueLibrary lib = mock(KqueueLibrary.class);

        Kernel(KeventLayout layout) {
            this.layout = layout;
            when(lib.kqueue()).thenReturn(99);
            when(lib.fcntl(anyInt(), anyInt(), anyInt())).thenReturn(0);
            when(lib.kevent(anyInt(), any(), anyInt(), any(), anyInt(), any())).thenAnswer(inv -> {
                Pointer cl = inv.getArgument(1);
                int n = inv.getArgument(2);
                Pointer el = inv.getArgument(3);
                if (n > 0) {
                    changeCalls++;
                }
                if (n > 0 && changeErrno != 0) {
                    errno = changeErrno;
                    if (--changeFailures == 0) {
                        changeErrno = 0;
                    }
                    return -1;
                }
                if (n > 0) {
                    for (int i = 0; i < n; i++) {
                        Kev c = Kev.read(cl, layout, i);
                        changes.add(c);
                        Integer err = failures.get(c.filter() + "/" + (c.flags() & ~(EV_RECEIPT | EV_ENABLE)));
                        new Kev(c.ident(), c.filter(), c.flags() | EV_ERROR, 0, err == null ? 0 : err, c.udata())
                                .write(el, layout, i);
                    }
                    return n;
                }
                if (waitErrno != 0) {
                    errno = waitErrno;
                    waitErrno = 0;
                    Thread.sleep(20);
                    return -1;
                }
                for (int i = 0; i < nextWait.size(); i++) {
                    nextWait.get(i).write(el, layout, i);
                }
                int got = nextWait.size();
                nextWait.clear();
                if (got == 0) {
                    Thread.sleep(5);
                }
                return got;
            });
        }

        EventQueue<Fd> open() throws Exception {
            return EventQueues.open(new KqueueProvider(lib, layout, () -> errno), Fd::fd);
        }

        /** The changes recorded for {@code fd}, oldest first, then forgotten. */
        List<Kev> take(int fd) {
            List<Kev> mine = changes.stream().filter(c -> c.ident() == fd).toList();
            changes.clear();
            return mine;
        }
    }

    /** An emulated kernel of {@code flavour}, 64-byte layout (Linux only: it stands on poll and epoll). */
    private static EmulatedKqueue emulated(EmulatedKqueue.Flavour flavour) {
        org.junit.jupiter.api.Assumptions.assumeTrue(jnr.ffi.Platform.getNativePlatform().getOS() == jnr.ffi.Platform.OS.LINUX,
                "the emulated kernel runs on Linux");
        return new EmulatedKqueue(KeventLayout.KEVENT64, flavour);
    }

    private final List<AutoCloseable> opened = new ArrayList<>();

    /** A real, open socket fd: the backend checks that what it registers exists. */
    private Fd realFd() throws Exception {
        jnr.enxio.channels.NativeSocketChannel[] p = io.polyplex.net.NativeSockets.socketPair();
        opened.add(p[0]);
        opened.add(p[1]);
        return new Fd(p[0].getFD());
    }

    @org.junit.jupiter.api.AfterEach
    void closeFds() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
    }

    static Stream<KeventLayout> layouts() {
        return Stream.of(KeventLayout.KEVENT32, KeventLayout.KEVENT64);
    }

    private static void assertChange(Kev c, int fd, short filter, int flags) {
        assertEquals(fd, c.ident(), "ident");
        assertEquals(filter, c.filter(), "filter");
        assertEquals(flags | EV_RECEIPT, c.flags(), "flags of " + c);
    }

    /**
     * The emulated kernel is Java test code that allocates, so the conformance suite's churn
     * allocation test is skipped there; this one checks the backend's own change path with a kernel
     * stub that allocates nothing (every change succeeds, receipts say so).
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void changesAllocateNothingInSteadyState(KeventLayout layout) throws Exception {
        KqueueLibrary quiet = (KernelCall) (kq, changelist, nchanges, eventlist, nevents, timeout) -> {
            for (int i = 0; i < nchanges; i++) {
                long at = (long) i * layout.size();
                eventlist.putShort(at + KeventLayout.FLAGS, (short) EV_ERROR);
                eventlist.putLong(at + KeventLayout.DATA, 0);
            }
            return nchanges;
        };
        KqueueBackend backend = new KqueueBackend(quiet, layout, () -> 0, 64);
        int fd = realFd().fd();
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean)
                java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);
        for (int i = 0; i < 20_000; i++) { // warm up: let the JIT settle
            cycle(backend, fd);
        }
        long tid = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            cycle(backend, fd);
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        backend.close();
        assertTrue(allocated < 64 * 1024, allocated + " bytes allocated by 30,000 changes");
    }

    private static void cycle(KqueueBackend b, int fd) throws Exception {
        b.register(fd, 7, io.polyplex.spi.Backend.READ, io.polyplex.spi.Backend.LEVEL);
        b.reregister(fd, 7, io.polyplex.spi.Backend.WRITE, io.polyplex.spi.Backend.LEVEL, io.polyplex.spi.Backend.READ, io.polyplex.spi.Backend.LEVEL);
        b.deregister(fd, 7, io.polyplex.spi.Backend.WRITE, io.polyplex.spi.Backend.LEVEL);
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void everyCallWritesTheExactChanges(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            k.changes.clear(); // the self-pipe's registration
            Fd s = realFd();
            int fd = s.fd();

            // An fd entering the set: each filter is deleted before it is added, in one changelist,
            // so no knote left on this number by a socket closed mid-registration survives (see
            // aSocketClosedWhileBeingSubscribedDoesNotHideTheNextOneOnItsNumber).
            q.subscribeRead(s);
            List<Kev> c = k.take(fd);
            assertEquals(3, c.size(), c.toString());
            assertChange(c.get(0), fd, EVFILT_READ, EV_DELETE);
            assertChange(c.get(1), fd, EVFILT_READ, EV_ADD | EV_ENABLE);
            assertChange(c.get(2), fd, EVFILT_WRITE, EV_DELETE);
            long token = c.get(1).udata();
            assertEquals(fd, (int) token, "the token carries the fd in its low half");

            // Within one trigger, only the filter whose state differs is touched.
            q.subscribeWrite(s);
            c = k.take(fd);
            assertEquals(1, c.size(), c.toString());
            assertChange(c.get(0), fd, EVFILT_WRITE, EV_ADD | EV_ENABLE);
            assertEquals(token, c.get(0).udata());

            q.disableWrite(s);
            c = k.take(fd);
            assertEquals(1, c.size(), c.toString());
            assertChange(c.get(0), fd, EVFILT_WRITE, EV_DISABLE);
            assertEquals(token, c.get(0).udata(), "a disable carries the token too (DragonFly and XNU overwrite udata)");

            // A new trigger: EV_CLEAR is fixed at a knote's creation, so both filters are deleted and
            // the wanted ones added again, in one changelist.
            q.subscribe(s, SocketEvent.READ, Trigger.EDGE);
            c = k.take(fd);
            assertEquals(3, c.size(), c.toString());
            assertChange(c.get(0), fd, EVFILT_READ, EV_DELETE);
            assertChange(c.get(1), fd, EVFILT_READ, EV_ADD | EV_ENABLE | EV_CLEAR);
            assertChange(c.get(2), fd, EVFILT_WRITE, EV_DELETE);

            // Native one-shot is EV_DISPATCH: disabled after delivery and kept, re-armed by EV_ENABLE.
            q.subscribe(s, SocketEvent.READ | SocketEvent.WRITE, Trigger.ONE_SHOT);
            c = k.take(fd);
            assertEquals(4, c.size(), c.toString());
            assertChange(c.get(0), fd, EVFILT_READ, EV_DELETE);
            assertChange(c.get(1), fd, EVFILT_READ, EV_ADD | EV_ENABLE | EV_DISPATCH);
            assertChange(c.get(2), fd, EVFILT_WRITE, EV_DELETE);
            assertChange(c.get(3), fd, EVFILT_WRITE, EV_ADD | EV_ENABLE | EV_DISPATCH);

            q.subscribe(s, SocketEvent.READ | SocketEvent.WRITE, Trigger.LEVEL);
            c = k.take(fd);
            assertEquals(4, c.size(), c.toString());
            assertChange(c.get(1), fd, EVFILT_READ, EV_ADD | EV_ENABLE);
            assertChange(c.get(3), fd, EVFILT_WRITE, EV_ADD | EV_ENABLE);

            q.remove(s);
            c = k.take(fd);
            assertChange(c.get(0), fd, EVFILT_READ, EV_DELETE);
            assertChange(c.get(1), fd, EVFILT_WRITE, EV_DELETE);
        }
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void aFailedAddIsReportedWithFdAndErrnoAndUndone(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            k.failures.put(EVFILT_WRITE + "/" + EV_ADD, NativeErrors.EBADF);
            Fd s = realFd();
            int fd = s.fd();
            NativeIOException e = assertThrows(NativeIOException.class, () -> q.subscribeReadWrite(s));
            assertEquals("kevent(EV_ADD EVFILT_WRITE, fd=" + fd + "): EBADF (Bad file descriptor)", e.getMessage());
            assertFalse(q.isSubscribedRead(s) || q.isSubscribedWrite(s));
            List<Kev> c = k.take(fd);
            assertEquals(6, c.size(), "a delete and an add per filter, then both undone: " + c);
            assertChange(c.get(1), fd, EVFILT_READ, EV_ADD | EV_ENABLE);
            assertChange(c.get(3), fd, EVFILT_WRITE, EV_ADD | EV_ENABLE);
            assertChange(c.get(4), fd, EVFILT_READ, EV_DELETE);
            assertChange(c.get(5), fd, EVFILT_WRITE, EV_DELETE);
        }
    }

    /**
     * Only a delete may meet EBADF quietly (the fd's close took its knotes: FreeBSD
     * {@code knote_fdclose}); a disable refused with EBADF is an error the caller sees. PIT's run
     * left alive the mutant that made it quiet (docs/mutation).
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void ebadfForADisableIsAnError(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            Fd s = realFd();
            q.subscribeReadWrite(s);
            k.failures.put(EVFILT_WRITE + "/" + EV_DISABLE, NativeErrors.EBADF);
            NativeIOException e = assertThrows(NativeIOException.class, () -> q.disableWrite(s));
            assertTrue(e.getMessage().startsWith("kevent(EV_DISABLE EVFILT_WRITE, fd=" + s.fd() + "): EBADF"), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void enoentForAFilterNeverAddedIsNoError(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            k.failures.put(EVFILT_WRITE + "/" + EV_DISABLE, NativeErrors.ENOENT);
            k.failures.put(EVFILT_WRITE + "/" + EV_DELETE, NativeErrors.ENOENT);
            Fd s = realFd();
            q.subscribeRead(s);
            q.subscribe(s, SocketEvent.READ, Trigger.EDGE); // reregister: EV_DISABLE of write gets ENOENT
            q.remove(s); // EV_DELETE of write gets ENOENT
            assertFalse(q.isSubscribedRead(s));
        }
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void filtersOfOneFdAreMergedAndEofCarriesPeerClosedAndTheError(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            Fd s = realFd();
            Fd other = realFd();
            q.subscribeReadWrite(s);
            q.subscribeRead(other);
            long token = k.changes.stream().filter(c -> c.ident() == s.fd()).findFirst().orElseThrow().udata();
            long otherToken = k.changes.stream().filter(c -> c.ident() == other.fd()).findFirst().orElseThrow().udata();
            int econnreset = jnr.constants.platform.Errno.ECONNRESET.intValue();
            k.nextWait.add(new Kev(s.fd(), EVFILT_READ, EV_EOF, econnreset, 3, token));
            k.nextWait.add(new Kev(other.fd(), EVFILT_READ, 0, 0, 1, otherToken));
            k.nextWait.add(new Kev(s.fd(), EVFILT_WRITE, 0, 0, 1024, token));
            Map<Fd, Integer> got = new HashMap<>();
            assertEquals(2, q.poll(Duration.ofSeconds(5), got::put));
            assertEquals(SocketEvent.READ | SocketEvent.WRITE | SocketEvent.PEER_CLOSED | SocketEvent.ERROR, got.get(s));
            assertEquals(SocketEvent.READ, got.get(other));
        }
    }

    /**
     * XNU's {@code kqueue_process} takes knotes off the queue until it is empty, with no end marker,
     * and {@code knote_process} drops the kqueue lock around each copy-out: a knote registered for a
     * reused fd number during the call (the old socket closed, a new one on the same number, EV_ADD
     * with a new udata) comes back in the same batch as the old socket's event. Two events for fd 7
     * with different tokens are two sockets: both tokens reach core, each with its own bits; only
     * events with equal tokens (two filters of one registration) are merged.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void eventsOfOneFdNumberWithDifferentTokensAreNotMerged(KeventLayout layout) throws Exception {
        long g1 = 1L << 32 | 7;
        long g2 = 2L << 32 | 7;
        long g3 = 3L << 32 | 5000; // a number beyond the backend's first fd table: it grows
        long g4 = 4L << 32 | 5000;
        List<Kev> batch = List.of(new Kev(7, EVFILT_READ, 0, 0, 1, g1), new Kev(7, EVFILT_WRITE, 0, 0, 100, g2),
                new Kev(7, EVFILT_WRITE, 0, 0, 100, g1), new Kev(9, EVFILT_READ, EV_EOF, 0, 0, 9),
                new Kev(5000, EVFILT_WRITE, 0, 0, 1, g4), new Kev(5000, EVFILT_READ, 0, 0, 1, g3),
                new Kev(5000, EVFILT_READ, 0, 0, 1, g4));
        KqueueLibrary lib = (KernelCall) (kq, changelist, nchanges, eventlist, nevents, timeout) -> {
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).write(eventlist, layout, i);
            }
            return batch.size();
        };
        KqueueBackend backend = new KqueueBackend(lib, layout, () -> 0, 64);
        int n = backend.poll(0);
        Map<Long, Integer> got = new HashMap<>();
        for (int i = 0; i < n; i++) {
            assertEquals(null, got.put(backend.readyToken(i), backend.readyOps(i)), "one entry per token");
        }
        assertEquals(Map.of(g1, SocketEvent.READ | SocketEvent.WRITE, g2, SocketEvent.WRITE,
                9L, SocketEvent.READ | SocketEvent.PEER_CLOSED, g3, SocketEvent.READ,
                g4, SocketEvent.READ | SocketEvent.WRITE), got);
        backend.close();
    }

    /**
     * The timespec each wait hands kevent: the timeout split into seconds and nanoseconds, capped
     * at {@link KqueueBackend#MAX_TIMEOUT_SECONDS} (86,399 s, with no nanoseconds then; core waits
     * again for the rest), because XNU's {@code kevent} refuses a {@code tv_sec} above INT32_MAX
     * with EINVAL (the kqueue package's table cites where); none at all (NULL) for no limit. Issue
     * 23, bug 16: without the cap a 100-year wait became EINVAL on macOS; issue 24: the timespec was
     * never checked.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void eachWaitWritesItsTimespecCappedAtOneDay(KeventLayout layout) throws Exception {
        List<long[]> seen = new ArrayList<>();
        KqueueLibrary lib = (KernelCall) (kq, changelist, nchanges, eventlist, nevents, timeout) -> {
            seen.add(timeout == null ? null : new long[] {timeout.getLong(0), timeout.getLong(8)});
            return 0;
        };
        KqueueBackend backend = new KqueueBackend(lib, layout, () -> 0, 8);
        long day = KqueueBackend.MAX_TIMEOUT_SECONDS;
        long[][] cases = {
            {0, 0, 0},
            {1, 0, 1},
            {999_999_999L, 0, 999_999_999L},
            {1_500_000_000L, 1, 500_000_000L},
            {100_000_000_005L, 100, 5},
            {(day - 1) * 1_000_000_000L + 7, day - 1, 7},
            {day * 1_000_000_000L + 7, day, 0},
            {Long.MAX_VALUE, day, 0},
        };
        for (long[] c : cases) {
            seen.clear();
            assertEquals(0, backend.poll(c[0]));
            assertEquals(1, seen.size());
            assertEquals(c[1] + " s " + c[2] + " ns", seen.get(0)[0] + " s " + seen.get(0)[1] + " ns",
                    "the timespec for a wait of " + c[0] + " ns");
        }
        seen.clear();
        backend.poll(-1);
        assertEquals(1, seen.size());
        assertEquals(null, seen.get(0), "no limit is a NULL timespec");
        backend.close();
    }

    /**
     * An entry with EV_ERROR in a wait's event list (not a receipt: XNU's filters report a failure
     * found after the knote was attached with {@code knote_set_error}, which sets EV_ERROR and puts
     * the errno in {@code data}, and {@code knote_process} copies those flags out) is an error of
     * that socket: ERROR, with READ and WRITE so that any handler looks at it; other entries of the
     * batch are as they were. Issue 23, bug 14: the EV_ERROR was ignored, and the entry read as a
     * plain READ.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void anEvErrorInTheEventListIsAnErrorOfThatSocket(KeventLayout layout) throws Exception {
        long seven = 3L << 32 | 7;
        List<Kev> batch = List.of(new Kev(7, EVFILT_READ, EV_ERROR | EV_DISPATCH, 0, NativeErrors.EBADF, seven),
                new Kev(9, EVFILT_READ, 0, 0, 1, 9), new Kev(11, EVFILT_WRITE, EV_ERROR, 0, NativeErrors.ENOENT, 11));
        KqueueLibrary lib = (KernelCall) (kq, changelist, nchanges, eventlist, nevents, timeout) -> {
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).write(eventlist, layout, i);
            }
            return batch.size();
        };
        KqueueBackend backend = new KqueueBackend(lib, layout, () -> 0, 8);
        int n = backend.poll(0);
        Map<Long, Integer> got = new HashMap<>();
        for (int i = 0; i < n; i++) {
            got.put(backend.readyToken(i), backend.readyOps(i));
        }
        int all = SocketEvent.READ | SocketEvent.WRITE | SocketEvent.ERROR;
        assertEquals(Map.of(seven, all, 9L, SocketEvent.READ, 11L, all), got);
        backend.close();
    }

    /**
     * Two changes of one changelist refused, each with its own errno: the exception names the
     * first (the change that failed first is the one that made the rest moot), and everything is
     * undone. Issue 24: the first-failure boundary was never checked.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void whenTwoChangesFailTheFirstFailureIsReported(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            int eacces = jnr.constants.platform.Errno.EACCES.intValue();
            k.failures.put(EVFILT_READ + "/" + EV_ADD, eacces);
            k.failures.put(EVFILT_WRITE + "/" + EV_ADD, NativeErrors.EBADF);
            Fd s = realFd();
            NativeIOException e = assertThrows(NativeIOException.class, () -> q.subscribeReadWrite(s));
            assertEquals("kevent(EV_ADD EVFILT_READ, fd=" + s.fd() + "): EACCES (Permission denied)", e.getMessage());
            assertFalse(q.isSubscribedRead(s) || q.isSubscribedWrite(s));
            List<Kev> c = k.take(s.fd());
            assertEquals(6, c.size(), "the changelist, then both filters deleted: " + c);
            assertChange(c.get(4), s.fd(), EVFILT_READ, EV_DELETE);
            assertChange(c.get(5), s.fd(), EVFILT_WRITE, EV_DELETE);
        }
    }

    /**
     * kqueue accepts a regular file (always readable) and any open fd; the backend refuses what
     * epoll refuses, before any kevent call: a regular file (EPERM) and an fd that is not open
     * (EBADF), naming the call and the fd. Issue 24: without {@code requirePollable} in register,
     * nothing failed.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void aRegularFileOrAClosedFdIsRefusedBeforeAnyKeventCall(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        java.nio.file.Path file = java.nio.file.Files.createTempFile("polyplex", ".txt");
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        int fileFd = posix.open(file.toString(), jnr.constants.platform.OpenFlags.O_RDONLY.intValue(), 0);
        assertTrue(fileFd >= 0, "open " + file);
        try (EventQueue<Fd> q = k.open()) {
            Fd good = realFd();
            q.subscribeRead(good); // a register that passes the check: a socket
            q.remove(good);
            int closed = realFd().fd();
            opened.get(opened.size() - 2).close(); // its own end: the number is closed now
            k.changeCalls = 0;
            NativeIOException e = assertThrows(NativeIOException.class, () -> q.subscribeRead(new Fd(fileFd)));
            assertEquals("kevent(EV_ADD, fd=" + fileFd + "): EPERM (Operation not permitted)", e.getMessage());
            e = assertThrows(NativeIOException.class, () -> q.subscribeRead(new Fd(closed)));
            assertEquals("kevent(EV_ADD, fd=" + closed + "): EBADF (Bad file descriptor)", e.getMessage());
            assertEquals(0, k.changeCalls, "kevent was called for an fd refused up front");
        } finally {
            posix.close(fileFd);
            java.nio.file.Files.delete(file);
        }
    }

    /**
     * kqueue() or fcntl(FD_CLOEXEC) failing with a transient errno that does not go away: the
     * constructor gives up after {@link NativeErrors#TRANSIENT_RETRIES} calls (never a spin), names
     * the call and the errno, and closes a kqueue it had opened.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void aKqueueThatCannotBeOpenedIsReportedAfterBoundedRetries(KeventLayout layout) {
        int[] calls = new int[3]; // kqueue, fcntl, close
        KqueueLibrary noQueue = new KernelCall() {
            @Override
            public int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout) {
                return 0;
            }

            @Override
            public int kqueue() {
                calls[0]++;
                return -1;
            }
        };
        NativeIOException e = assertThrows(NativeIOException.class,
                () -> new KqueueBackend(noQueue, layout, () -> NativeErrors.EINTR, 8));
        assertTrue(e.getMessage().startsWith("kqueue(") && e.getMessage().contains("EINTR"), e.getMessage());
        assertEquals(NativeErrors.TRANSIENT_RETRIES, calls[0]);
        KqueueLibrary noCloexec = new KernelCall() {
            @Override
            public int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout) {
                return 0;
            }

            @Override
            public int fcntl(int fd, int cmd, int arg) {
                calls[1]++;
                return -1;
            }

            @Override
            public int close(int fd) {
                calls[2]++;
                return 0;
            }
        };
        e = assertThrows(NativeIOException.class, () -> new KqueueBackend(noCloexec, layout, () -> NativeErrors.EINTR, 8));
        assertTrue(e.getMessage().startsWith("fcntl(F_SETFD FD_CLOEXEC, fd=99)") && e.getMessage().contains("EINTR"), e.getMessage());
        assertEquals(NativeErrors.TRANSIENT_RETRIES, calls[1]);
        assertEquals(1, calls[2], "the kqueue was not closed");
    }

    /**
     * A change call that answers with fewer receipts than changes, or with an entry that is no
     * receipt (no EV_ERROR: a ready event), is a kernel that ignores EV_RECEIPT: refused, never
     * read as success.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void aChangeCallAnsweredWithoutReceiptsIsRefused(KeventLayout layout) throws Exception {
        int fd = realFd().fd();
        for (boolean none : new boolean[] {true, false}) {
            KqueueLibrary lib = (KernelCall) (kq, changelist, nchanges, eventlist, nevents, timeout) -> {
                if (none) {
                    return 0;
                }
                for (int i = 0; i < nchanges; i++) {
                    new Kev(fd, EVFILT_READ, i == 1 ? 0 : EV_ERROR, 0, 0, 0).write(eventlist, layout, i);
                }
                return nchanges;
            };
            KqueueBackend backend = new KqueueBackend(lib, layout, () -> 0, 8);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> backend.register(fd, 1, io.polyplex.spi.Backend.READ, io.polyplex.spi.Backend.LEVEL));
            assertTrue(e.getMessage().contains("ignores EV_RECEIPT"), e.getMessage());
            backend.close();
        }
    }

    /**
     * Which refusals are errors: ENOENT is "already gone" only for a disable or a delete; for an
     * add it is an error. A refusal of the very first change (a delete that fails with anything
     * but ENOENT or EBADF) is one too. And when putting back is refused at its first change, the
     * registration is lost; when putting back is refused with EBADF (the fd was closed meanwhile,
     * and its knotes went with it) it is not, and the first refusal is thrown.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void refusalsAreErrorsExceptWhatIsAlreadyGone(KeventLayout layout) throws Exception {
        int eacces = jnr.constants.platform.Errno.EACCES.intValue();
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            Fd s = realFd();
            k.failures.put(EVFILT_READ + "/" + EV_ADD, NativeErrors.ENOENT);
            assertEquals("kevent(EV_ADD EVFILT_READ, fd=" + s.fd() + "): ENOENT (No such file or directory)",
                    assertThrows(NativeIOException.class, () -> q.subscribeRead(s)).getMessage());
            k.failures.clear();
            k.failures.put(EVFILT_READ + "/" + EV_DELETE, eacces);
            assertEquals("kevent(EV_DELETE EVFILT_READ, fd=" + s.fd() + "): EACCES (Permission denied)",
                    assertThrows(NativeIOException.class, () -> q.subscribeRead(s)).getMessage());
            k.failures.clear();
            q.subscribeRead(s);
            k.failures.put(EVFILT_READ + "/" + EV_DELETE, eacces); // the new trigger's first change, and the restore's
            io.polyplex.spi.RegistrationLostException lost = assertThrows(io.polyplex.spi.RegistrationLostException.class,
                    () -> q.subscribe(s, SocketEvent.READ, Trigger.EDGE));
            assertTrue(lost.getMessage().contains("EACCES"), lost.getMessage());
            assertFalse(q.isSubscribedRead(s));
            k.failures.clear();
            q.subscribeRead(s);
            k.failures.put(EVFILT_READ + "/" + (EV_ADD | EV_CLEAR), NativeErrors.EBADF); // the new trigger's add
            k.failures.put(EVFILT_READ + "/" + EV_ADD, NativeErrors.EBADF); // and the old one's, putting back
            NativeIOException e = assertThrows(NativeIOException.class, () -> q.subscribe(s, SocketEvent.READ, Trigger.EDGE));
            assertFalse(e instanceof io.polyplex.spi.RegistrationLostException, "EBADF when putting back: nothing to put back");
            assertEquals("kevent(EV_ADD EVFILT_READ, fd=" + s.fd() + "): EBADF (Bad file descriptor)", e.getMessage());
        }
    }

    /**
     * The per-fd merge's table: a first event on an fd number at or beyond the table's size
     * grows it (fd 1024, then 3000); a full batch (as many events as the list holds) is read to its
     * end and no further; and a second socket's token on one fd number, seen twice after another
     * token of that number, is merged into its own entry, never into one left from the last
     * batch.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void theMergeTableGrowsAndKeepsTokensApartAcrossBatches(KeventLayout layout) throws Exception {
        List<List<Kev>> batches = new ArrayList<>(List.of(
                List.of(new Kev(1024, EVFILT_READ, 0, 0, 1, 1024), new Kev(3000, EVFILT_WRITE, 0, 0, 1, 3000)),
                List.of(new Kev(4, EVFILT_READ, 0, 0, 1, 40), new Kev(5, EVFILT_READ, 0, 0, 1, 77)),
                List.of(new Kev(7, EVFILT_READ, 0, 0, 1, 70), new Kev(7, EVFILT_READ, 0, 0, 1, 77),
                        new Kev(7, EVFILT_WRITE, 0, 0, 1, 77), new Kev(9, EVFILT_WRITE, 0, 0, 1, 90))));
        KqueueLibrary lib = (KernelCall) (kq, changelist, nchanges, eventlist, nevents, timeout) -> {
            List<Kev> batch = batches.remove(0);
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).write(eventlist, layout, i);
            }
            return batch.size();
        };
        KqueueBackend backend = new KqueueBackend(lib, layout, () -> 0, 4);
        List<Map<Long, Integer>> got = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
            int n = backend.poll(0);
            Map<Long, Integer> m = new HashMap<>();
            for (int i = 0; i < n; i++) {
                assertEquals(null, m.put(backend.readyToken(i), backend.readyOps(i)), "one entry per token");
            }
            got.add(m);
        }
        assertEquals(Map.of(1024L, SocketEvent.READ, 3000L, SocketEvent.WRITE), got.get(0));
        assertEquals(Map.of(40L, SocketEvent.READ, 77L, SocketEvent.READ), got.get(1));
        assertEquals(Map.of(70L, SocketEvent.READ, 77L, SocketEvent.READ | SocketEvent.WRITE, 90L, SocketEvent.WRITE), got.get(2));
        backend.close();
    }

    /**
     * Every change call leaves room for a receipt per change, checked before the call: a changelist
     * longer than the receipt list is refused without calling kevent, because DragonFly's {@code
     * kern_kevent} would write the extra receipts past the end of the list (see {@link
     * KqueueBackend#MAX_CHANGES}).
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void aChangeListLongerThanTheReceiptListIsRefusedBeforeTheCall(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        KqueueBackend backend = new KqueueBackend(k.lib, layout, () -> k.errno, 8);
        k.changeCalls = 0;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> backend.apply(KqueueBackend.MAX_CHANGES + 1));
        assertTrue(e.getMessage().contains("room for " + KqueueBackend.MAX_CHANGES + " receipts"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> backend.apply(0));
        assertEquals(0, k.changeCalls, "kevent was called with a changelist it had no room to receipt");
        backend.close();
    }

    /**
     * The same invariant on a kernel that would overrun (the emulated DragonFly, rule 19): every
     * kind of change call the backend makes (register, each trigger change with both filters, a
     * disable, a failed change and its restore, deregister) passes room for all its receipts.
     */
    @org.junit.jupiter.api.Test
    void everyChangeCallLeavesRoomForEveryReceiptOnDragonFly() throws Exception {
        EmulatedKqueue kernel = emulated(EmulatedKqueue.Flavour.DRAGONFLY);
        try (EventQueue<Fd> q = EventQueues.open(new KqueueProvider(kernel, KeventLayout.KEVENT64, kernel::lastError), Fd::fd)) {
            Fd s = realFd();
            q.subscribeReadWrite(s);
            for (Trigger t : new Trigger[] {Trigger.EDGE, Trigger.ONE_SHOT, Trigger.LEVEL, Trigger.ONE_SHOT}) {
                q.subscribe(s, SocketEvent.READ | SocketEvent.WRITE, t);
            }
            q.disableWrite(s);
            kernel.failNext(EVFILT_READ, EV_ADD, NativeErrors.EBADF);
            assertThrows(NativeIOException.class, () -> q.subscribe(s, SocketEvent.READ | SocketEvent.WRITE, Trigger.EDGE));
            q.remove(s);
            assertFalse(q.isSubscribedRead(s));
        }
    }

    /**
     * FreeBSD's {@code kqueue_register} attaches a new knote after taking the file with no re-check
     * that the fd is still open (OpenBSD has {@code fd_checkclosed}, DragonFly {@code
     * checkfdclosed}): a socket closed while it is being subscribed leaves a knote that keeps the old
     * file open under the fd number, and a plain EV_ADD for the next socket on that number would only
     * replace its udata (emulated kernel, rule 20). The backend deletes both filters before it adds
     * in every register, in the same changelist, so the new socket always gets fresh knotes and the
     * old file is released.
     */
    @org.junit.jupiter.api.Test
    void aSocketClosedWhileBeingSubscribedDoesNotHideTheNextOneOnItsNumber() throws Exception {
        EmulatedKqueue kernel = emulated(EmulatedKqueue.Flavour.FREEBSD);
        try (EventQueue<Fd> q = EventQueues.open(new KqueueProvider(kernel, KeventLayout.KEVENT64, kernel::lastError), Fd::fd)) {
            jnr.enxio.channels.NativeSocketChannel[] old = io.polyplex.net.NativeSockets.socketPair();
            opened.add(old[1]);
            int fd = old[0].getFD();
            Fd first = new Fd(fd);
            kernel.closeDuringNextAdd(fd, () -> {
                try {
                    old[0].close();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            q.subscribeRead(first); // the kernel said yes: the close came after it took the file
            q.remove(first); // EBADF for both deletes: the number is closed, the knote stays
            jnr.enxio.channels.NativeSocketChannel[] next = io.polyplex.net.NativeSockets.socketPair();
            opened.add(next[1]);
            if (next[0].getFD() != fd) { // the next socket on the same number, as accept(2) would give it
                jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
                assertEquals(fd, posix.dup2(next[0].getFD(), fd));
                next[0].close();
                opened.add(() -> posix.close(fd));
            } else {
                opened.add(next[0]);
            }
            Fd second = new Fd(fd);
            q.subscribeRead(second);
            next[1].write(java.nio.ByteBuffer.wrap(new byte[] {1}));
            Map<Fd, Integer> got = new HashMap<>();
            q.poll(Duration.ofSeconds(10), got::put);
            assertEquals(Map.of(second, SocketEvent.READ), got, "the next socket's data");
            assertEquals(-1, old[1].read(java.nio.ByteBuffer.allocate(8)), "the old socket's file was left open");
            assertEquals(List.of(fd + "/read enabled udata=" + Long.toHexString(kernelToken(kernel, fd))),
                    kernel.knotes(kernel.lastQueue()).stream().filter(k -> k.startsWith(fd + "/")).toList());
        }
    }

    private static long kernelToken(EmulatedKqueue kernel, int fd) {
        String line = kernel.knotes(kernel.lastQueue()).stream().filter(k -> k.startsWith(fd + "/read")).findFirst().orElseThrow();
        return Long.parseLong(line.substring(line.indexOf("udata=") + 6), 16);
    }

    /**
     * EV_DISPATCH disables only the knote that fired (FreeBSD {@code kqueue_scan}, XNU {@code
     * knote_process}), while core disarms the whole socket. A one-shot READ|WRITE socket whose read
     * filter fired keeps its write knote enabled in the kernel; when that fires, core drops the
     * event (disarmed) and the kernel disables the knote: one wasted wakeup, never a spin, and the
     * two views agree from then on. Nothing ready is lost: the re-arm enables each wanted filter,
     * which makes the kernel evaluate it again and queue it if it holds (FreeBSD {@code
     * kqueue_register}, XNU {@code kevent_register}; emulated kernel, rule 7).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void aDispatchedFilterLeftEnabledCostsOneWakeupAndLosesNothing(EmulatedKqueue.Flavour flavour) throws Exception {
        EmulatedKqueue kernel = emulated(flavour);
        int[] waits = new int[1];
        KqueueLibrary counting = new KqueueLibrary() {
            @Override
            public int kqueue() {
                return kernel.kqueue();
            }

            @Override
            public int kevent(int kq, Pointer changelist, int nchanges, Pointer eventlist, int nevents, Pointer timeout) {
                if (nchanges == 0) {
                    waits[0]++;
                }
                return kernel.kevent(kq, changelist, nchanges, eventlist, nevents, timeout);
            }

            @Override
            public int fcntl(int fd, int cmd, int arg) {
                return kernel.fcntl(fd, cmd, arg);
            }

            @Override
            public int close(int fd) {
                return kernel.close(fd);
            }
        };
        try (EventQueue<Fd> q = EventQueues.open(new KqueueProvider(counting, KeventLayout.KEVENT64, kernel::lastError), Fd::fd)) {
            jnr.enxio.channels.NativeSocketChannel[] p = io.polyplex.net.NativeSockets.socketPair();
            opened.add(p[0]);
            opened.add(p[1]);
            Fd a = new Fd(p[0].getFD());
            java.nio.ByteBuffer chunk = java.nio.ByteBuffer.allocateDirect(64 * 1024);
            while (p[0].write(chunk.clear()) > 0) {
                // fill a's send buffer: not writable
            }
            q.subscribe(a, SocketEvent.READ | SocketEvent.WRITE, Trigger.ONE_SHOT);
            p[1].write(java.nio.ByteBuffer.wrap(new byte[] {1}));
            Map<Fd, Integer> got = new HashMap<>();
            q.poll(Duration.ofSeconds(10), got::put);
            assertEquals(Map.of(a, SocketEvent.READ), got, "the read filter fires alone");
            assertEquals(1, p[0].read(java.nio.ByteBuffer.allocate(8)));
            while (p[1].read(chunk.clear()) > 0) {
                // drain: a becomes writable, and its still-enabled write knote fires
            }
            got.clear();
            waits[0] = 0;
            long start = System.nanoTime();
            assertEquals(0, q.poll(Duration.ofMillis(300), got::put), "an event for a disarmed one-shot socket");
            assertTrue(System.nanoTime() - start >= 300_000_000L, "the dropped event ended the wait early");
            assertTrue(waits[0] <= 3, waits[0] + " kevent waits in 300 ms: a spin");
            List<String> knotes = kernel.knotes(kernel.lastQueue()).stream().filter(k -> k.startsWith(a.fd() + "/")).toList();
            assertTrue(knotes.stream().allMatch(k -> k.contains(" disabled")), "kernel and core now agree: " + knotes);
            q.subscribe(a, SocketEvent.READ | SocketEvent.WRITE, Trigger.ONE_SHOT);
            q.poll(Duration.ofSeconds(10), got::put);
            assertEquals(Map.of(a, SocketEvent.WRITE), got, "the write readiness the dropped event carried");
        }
    }

    /**
     * A change call never waits (every change carries EV_RECEIPT and there is room for every
     * receipt: FreeBSD {@code kqueue_kevent}, XNU {@code kevent_internal}), so it should not be
     * interrupted; if it fails as a whole with a transient errno anyway, it is made again (a call
     * that returned -1 applied nothing), and the user never sees the errno.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void aChangeCallThatFailsWithATransientErrnoIsMadeAgain(KeventLayout layout) throws Exception {
        for (int transientErrno : new int[] {NativeErrors.EINTR, NativeErrors.EAGAIN}) {
            Kernel k = new Kernel(layout);
            try (EventQueue<Fd> q = k.open()) {
                Fd s = realFd();
                k.changeErrno = transientErrno;
                k.changeFailures = 2;
                k.changeCalls = 0;
                q.subscribeRead(s);
                assertTrue(q.isSubscribedRead(s));
                assertEquals(3, k.changeCalls, "two failed calls, then the one that applied the change");
            }
        }
    }

    /**
     * A transient errno that does not go away is reported after {@link
     * NativeErrors#TRANSIENT_RETRIES} calls (never a spin), and any other whole-call failure at once;
     * either way an error, never a success whose receipts were not read, and nothing changed.
     */
    @ParameterizedTest
    @MethodSource("layouts")
    void aChangeCallThatKeepsFailingIsAnError(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            Fd s = realFd();
            k.changeErrno = NativeErrors.EINTR;
            k.changeFailures = Integer.MAX_VALUE;
            k.changeCalls = 0;
            NativeIOException e = assertThrows(NativeIOException.class, () -> q.subscribeRead(s));
            assertEquals("kevent(changes, fd=" + s.fd() + "): EINTR (Interrupted system call)", e.getMessage());
            assertEquals(NativeErrors.TRANSIENT_RETRIES, k.changeCalls);
            assertFalse(q.isSubscribedRead(s));

            int enomem = jnr.constants.platform.Errno.ENOMEM.intValue();
            k.changeErrno = enomem;
            k.changeFailures = 1;
            k.changeCalls = 0;
            e = assertThrows(NativeIOException.class, () -> q.subscribeRead(s));
            assertEquals("kevent(changes, fd=" + s.fd() + "): ENOMEM (Cannot allocate memory)", e.getMessage());
            assertEquals(1, k.changeCalls, "no retry of an errno that is not transient");
            assertFalse(q.isSubscribedRead(s));
            q.subscribeRead(s); // and the next call works
            assertTrue(q.isSubscribedRead(s));
        }
    }

    /** EV_EOF is the peer's close only on the read filter (FreeBSD and XNU {@code filt_sowrite}). */
    @org.junit.jupiter.api.Test
    void eofOnTheWriteFilterIsNotThePeersClose() {
        int econnreset = jnr.constants.platform.Errno.ECONNRESET.intValue();
        assertEquals(SocketEvent.READ, KqueueBackend.bits(EVFILT_READ, EV_ADD | EV_RECEIPT, 0));
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED, KqueueBackend.bits(EVFILT_READ, EV_EOF | EV_DISPATCH, 0));
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED | SocketEvent.ERROR,
                KqueueBackend.bits(EVFILT_READ, EV_EOF, econnreset));
        // Our own shutdown(SHUT_WR): this side can send no more; nothing about the peer.
        assertEquals(SocketEvent.WRITE, KqueueBackend.bits(EVFILT_WRITE, EV_EOF | EV_CLEAR, 0));
        // A reset or a refused connect: the socket error, on the write filter too.
        assertEquals(SocketEvent.WRITE | SocketEvent.ERROR, KqueueBackend.bits(EVFILT_WRITE, EV_EOF, econnreset));
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void eintrDuringAWaitIsRetriedAndNeverEndsItEarly(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            k.waitErrno = NativeErrors.EINTR;
            long start = System.nanoTime();
            assertEquals(0, q.poll(Duration.ofMillis(200)).size());
            assertTrue(System.nanoTime() - start >= 200_000_000L);
        }
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void aFailedWaitNamesTheCall(KeventLayout layout) throws Exception {
        Kernel k = new Kernel(layout);
        try (EventQueue<Fd> q = k.open()) {
            k.waitErrno = NativeErrors.EBADF;
            NativeIOException e = assertThrows(NativeIOException.class, () -> q.poll(Duration.ofSeconds(1)));
            assertTrue(e.getMessage().startsWith("kevent(wait, fd=99): EBADF"), e.getMessage());
        }
    }

    /**
     * FreeBSD's layout is the one of the kevent its loaded libc resolves by name, not the kernel's:
     * a jail with a FreeBSD 11 userland on a 14 host has only kevent@FBSD_1.0, the 32-byte struct.
     */
    @org.junit.jupiter.api.Test
    void layoutsAreChosenFromTheLoadedLibcNotTheKernelRelease() {
        java.util.function.Supplier<java.util.Optional<String>> notAsked = () -> {
            throw new AssertionError("only FreeBSD has two kevents");
        };
        jnr.ffi.Platform.OS freebsd = jnr.ffi.Platform.OS.FREEBSD;
        assertSame(KeventLayout.KEVENT32, KeventLayout.forPlatform(jnr.ffi.Platform.OS.DARWIN, 64, notAsked).orElseThrow());
        assertSame(KeventLayout.KEVENT32, KeventLayout.forPlatform(jnr.ffi.Platform.OS.OPENBSD, 64, notAsked).orElseThrow());
        assertSame(KeventLayout.KEVENT32, KeventLayout.forPlatform(jnr.ffi.Platform.OS.DRAGONFLY, 64, notAsked).orElseThrow());
        assertSame(KeventLayout.KEVENT64, KeventLayout.forPlatform(freebsd, 64, () -> java.util.Optional.of("FBSD_1.5")).orElseThrow());
        assertSame(KeventLayout.KEVENT32, KeventLayout.forPlatform(freebsd, 64, () -> java.util.Optional.of("FBSD_1.0")).orElseThrow(),
                "a FreeBSD 11 libc (a jail on a newer kernel) takes the 32-byte struct");
        assertTrue(KeventLayout.forPlatform(freebsd, 64, java.util.Optional::empty).isEmpty(), "neither: refused");
        assertTrue(KeventLayout.unknownReason(freebsd, 64).contains("kevent@FBSD_1.5"));
        assertTrue(KeventLayout.forPlatform(jnr.ffi.Platform.OS.NETBSD, 64, notAsked).isEmpty());
        assertTrue(KeventLayout.forPlatform(jnr.ffi.Platform.OS.DARWIN, 32, notAsked).isEmpty());
        assertTrue(KeventLayout.forPlatform(jnr.ffi.Platform.OS.LINUX, 64, notAsked).isEmpty());
    }

    /**
     * The provider's layout decision run with FreeBSD's inputs at the lowest seam: jnr-ffi's own
     * platform object for FreeBSD (whose C library name, {@code "c"}, is no file) and FreeBSD's rtld
     * answering dlopen, dlsym, dlvsym and dladdr ({@link io.polyplex.testing.FreeBsdDynamicLinker}).
     * A FreeBSD 12+ libc gives the 64-byte struct, a FreeBSD 11 userland the 32-byte one; the other
     * BSDs and macOS never ask the dynamic linker.
     */
    @org.junit.jupiter.api.Test
    void freeBsdsLayoutComesFromItsOwnDynamicLinkersAnswers() {
        jnr.ffi.Platform freebsd = io.polyplex.testing.JnrPlatforms.of(jnr.ffi.Platform.OS.FREEBSD);
        assertSame(KeventLayout.KEVENT64, KeventLayout.of(freebsd, 64, new io.polyplex.internal.SymbolVersions(freebsd,
                io.polyplex.testing.FreeBsdDynamicLinker::freeBsd14)).orElseThrow());
        assertSame(KeventLayout.KEVENT32, KeventLayout.of(freebsd, 64, new io.polyplex.internal.SymbolVersions(freebsd,
                io.polyplex.testing.FreeBsdDynamicLinker::freeBsd11Userland)).orElseThrow());
        for (jnr.ffi.Platform.OS os : new jnr.ffi.Platform.OS[] {jnr.ffi.Platform.OS.DARWIN, jnr.ffi.Platform.OS.OPENBSD,
                jnr.ffi.Platform.OS.DRAGONFLY}) {
            jnr.ffi.Platform p = io.polyplex.testing.JnrPlatforms.of(os);
            assertSame(KeventLayout.KEVENT32, KeventLayout.of(p, 64, new io.polyplex.internal.SymbolVersions(p, () -> {
                throw new AssertionError("asked the dynamic linker on " + os);
            })).orElseThrow(), os.toString());
        }
    }
}
