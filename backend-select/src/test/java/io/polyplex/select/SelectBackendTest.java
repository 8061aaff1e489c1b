package io.polyplex.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.conformance.FdLimit;
import io.polyplex.conformance.HighFd;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.NativeIOException;
import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import io.polyplex.spi.Backend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What only the select backend has: the FD_SETSIZE limit, EBADF for the whole call when one
 * registered fd was closed, and its own timeval and event batching. Real kernel, real sockets.
 */
@Timeout(120)
class SelectBackendTest {

    /** A socket type that is not a Channel: core cannot tell it was closed, only the kernel can. */
    record RawFd(int fd) { }

    private static void write(NativeSocketChannel c) throws IOException {
        assertEquals(1, c.write(ByteBuffer.wrap(new byte[] {1})));
    }

    private static void closeAll(List<NativeSocketChannel> all) {
        for (NativeSocketChannel c : all) {
            try {
                c.close();
            } catch (IOException e) {
                // closing test sockets: nothing to do
            }
        }
    }

    @Test
    void anFdAtOrAboveFdSetSizeIsRefusedNamingTheWayOutAndTheQueueKeepsWorking() throws Exception {
        FdLimit.ensure(4096);
        List<NativeSocketChannel> all = new ArrayList<>();
        try (EventQueue<NativeSelectableChannel> q = EventQueues.open("select", NativeSelectableChannel::getFD)) {
            while (all.isEmpty() || all.get(all.size() - 1).getFD() < 1100) {
                NativeSocketChannel[] p = NativeSockets.socketPair();
                all.add(p[0]);
                all.add(p[1]);
            }
            assertTrue(all.size() > 1024 - 64, "opened " + all.size() + " fds, more than 1,024 in all");
            NativeSocketChannel at1023 = null;
            NativeSocketChannel at1024 = null;
            for (NativeSocketChannel c : all) {
                if (c.getFD() == 1023) {
                    at1023 = c;
                } else if (c.getFD() == 1024) {
                    at1024 = c;
                }
            }
            assertNotNull(at1023, "no socket got fd 1023");
            assertNotNull(at1024, "no socket got fd 1024");

            // Every socket below the limit is watched, the ones at or above it refused, one by one.
            int refused = 0;
            for (NativeSocketChannel c : all) {
                if (c.getFD() < 1024) {
                    q.subscribeRead(c);
                    continue;
                }
                NativeSocketChannel high = c;
                NativeIOException e = assertThrows(NativeIOException.class, () -> q.subscribeReadWrite(high));
                String m = e.getMessage();
                assertEquals(c.getFD(), e.fd());
                assertEquals("EINVAL", e.errnoName());
                assertTrue(m.startsWith("select("), m);
                assertTrue(m.contains("fd=" + c.getFD()), m);
                assertTrue(m.contains("FD_SETSIZE (1024)"), m);
                assertTrue(m.contains("poll") && m.contains("epoll"), "the way out is not named: " + m);
                assertFalse(q.isSubscribedRead(c) || q.isSubscribedWrite(c), "half-registered: " + m);
                refused++;
            }
            assertTrue(refused > 0);
            assertTrue(q.isSubscribedRead(at1023), "fd 1023, the last one that fits, was refused");

            // The queue keeps working: the highest watched fd and a low one are reported, nothing else.
            NativeSocketChannel peerOf1023 = all.get(all.indexOf(at1023) ^ 1);
            write(peerOf1023);
            List<SocketEvent<NativeSelectableChannel>> events = q.poll(Duration.ofSeconds(20));
            assertEquals(1, events.size(), events.toString());
            assertSame(at1023, events.get(0).socket());
            ByteBuffer b = ByteBuffer.allocate(8);
            assertEquals(1, at1023.read(b));
            write(all.get(1));
            events = q.poll(Duration.ofSeconds(20));
            assertEquals(1, events.size(), events.toString());
            assertSame(all.get(0), events.get(0).socket());
            NativeSocketChannel tooHigh = at1024;
            assertThrows(IOException.class, () -> q.subscribeRead(tooHigh)); // still refused, still no harm
        } finally {
            closeAll(all);
        }
    }

    @Test
    void fdsClosedWithoutRemoveAreReportedOnceAsErrorsAndTheOthersKeepWorkingWithoutSpinning() throws Exception {
        List<NativeSocketChannel> all = new ArrayList<>();
        try (EventQueue<RawFd> q = EventQueues.open("select", RawFd::fd)) {
            List<RawFd> closed = new ArrayList<>();
            List<RawFd> live = new ArrayList<>();
            List<NativeSocketChannel> livePeers = new ArrayList<>();
            List<NativeSocketChannel> toClose = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                NativeSocketChannel[] p = NativeSockets.socketPair();
                all.add(p[1]);
                RawFd s = new RawFd(p[0].getFD());
                q.subscribeRead(s);
                if (i % 2 == 0) {
                    closed.add(s);
                    toClose.add(p[0]);
                } else {
                    all.add(p[0]);
                    live.add(s);
                    livePeers.add(p[1]);
                }
            }
            for (NativeSocketChannel c : toClose) {
                c.close(); // behind the queue's back; fdOf still answers the old number
            }
            // Each closed fd is reported exactly once, as ERROR; nothing else is reported.
            List<RawFd> reported = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (reported.size() < closed.size() && System.nanoTime() < deadline) {
                for (SocketEvent<RawFd> e : q.poll(Duration.ofSeconds(1))) {
                    assertTrue(e.isError(), e.toString());
                    reported.add(e.socket());
                }
            }
            assertEquals(closed.size(), reported.size(), reported.toString());
            assertEquals(new HashSet<>(closed), new HashSet<>(reported), reported.toString());
            for (RawFd s : closed) {
                assertFalse(q.isSubscribedRead(s), "still subscribed after its ERROR: " + s);
            }
            // No spin, no repeated report, no exception: an idle poll waits its whole timeout.
            for (int i = 0; i < 2; i++) {
                long start = System.nanoTime();
                assertEquals(List.of(), q.poll(Duration.ofMillis(200)));
                assertTrue(System.nanoTime() - start >= 200_000_000L, "returned early: spinning on a closed fd?");
            }
            // And the live ones still work.
            write(livePeers.get(1));
            List<SocketEvent<RawFd>> events = q.poll(Duration.ofSeconds(20));
            assertEquals(1, events.size(), events.toString());
            assertEquals(live.get(1), events.get(0).socket());
            assertTrue(events.get(0).isReadable());
        } finally {
            closeAll(all);
        }
    }

    @Test
    void moreReadyFdsThanMaxEventsAllGetTheirTurn() throws Exception {
        List<NativeSocketChannel> all = new ArrayList<>();
        try (Backend backend = new SelectProvider().open(2)) {
            Set<Long> tokens = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                NativeSocketChannel[] p = NativeSockets.socketPair();
                all.add(p[0]);
                all.add(p[1]);
                backend.register(p[0].getFD(), 100 + i, Backend.READ, Backend.LEVEL);
                write(p[1]);
                tokens.add(100L + i);
            }
            Set<Long> seen = new HashSet<>();
            for (int round = 0; round < 3; round++) {
                int n = backend.poll(5_000_000_000L);
                assertTrue(n >= 1 && n <= 2, "returned " + n + " events with maxEvents 2");
                for (int i = 0; i < n; i++) {
                    assertEquals(Backend.READ, backend.readyOps(i));
                    seen.add(backend.readyToken(i));
                }
            }
            assertEquals(tokens, seen, "level-triggered fds starved by the maxEvents cap");
        } finally {
            closeAll(all);
        }
    }

    @Test
    void aChangeTakesEffectAtTheNextWaitWithTheTokenItWasBuiltWith() throws Exception {
        List<NativeSocketChannel> all = new ArrayList<>();
        try (Backend backend = new SelectProvider().open(16)) {
            NativeSocketChannel[] p = HighFd.socketPair(); // its number is closed and named again below
            all.add(p[0]);
            all.add(p[1]);
            int fd = p[0].getFD();
            backend.register(fd, 7, Backend.WRITE, Backend.LEVEL);
            assertEquals(1, backend.poll(0));
            assertEquals(7, backend.readyToken(0));
            assertEquals(Backend.WRITE, backend.readyOps(0));
            backend.reregister(fd, 8, Backend.READ, Backend.LEVEL, Backend.READ, Backend.LEVEL);
            assertEquals(0, backend.poll(0), "nothing to read yet");
            write(p[1]);
            assertEquals(1, backend.poll(0));
            assertEquals(8, backend.readyToken(0));
            assertEquals(Backend.READ, backend.readyOps(0));
            backend.deregister(fd, 8, Backend.READ, Backend.LEVEL);
            backend.deregister(fd, 8, Backend.READ, Backend.LEVEL); // unknown now: a no-op
            assertEquals(0, backend.poll(0));
            // Negative, closed, too large: refused without touching the set.
            assertTrue(assertThrows(IOException.class, () -> backend.register(-1, 1, Backend.READ, Backend.LEVEL))
                    .getMessage().contains("EBADF"));
            assertTrue(assertThrows(IOException.class, () -> backend.reregister(4096, 1, Backend.READ, Backend.LEVEL, Backend.READ, Backend.LEVEL))
                    .getMessage().contains("FD_SETSIZE"));
            p[0].close();
            assertTrue(assertThrows(IOException.class, () -> backend.reregister(fd, 9, Backend.READ, Backend.LEVEL, Backend.READ, Backend.LEVEL))
                    .getMessage().contains("EBADF"));
            assertEquals(0, backend.poll(0));
        } finally {
            closeAll(all);
        }
    }

    @Test
    void aWaitIsNeverShorterThanItsTimeoutRoundedUpToMicroseconds() throws Exception {
        try (Backend backend = new SelectProvider().open(16)) {
            for (long nanos : new long[] {1, 999, 1_001, 300_000, 1_500_000, 20_000_000}) {
                long start = System.nanoTime();
                assertEquals(0, backend.poll(nanos));
                long waited = System.nanoTime() - start;
                assertTrue(waited >= nanos, "select(" + nanos + " ns) returned after " + waited + " ns");
            }
        }
    }

    private static final SelectLibrary REAL = jnr.ffi.LibraryLoader.create(SelectLibrary.class)
            .load(jnr.ffi.Platform.getNativePlatform().getStandardCLibraryName());

    /** The real binding, with {@code select} replaced by {@code call} (which may call the real one). */
    private static SelectLibrary around(SelectCall call) {
        return (SelectLibrary) java.lang.reflect.Proxy.newProxyInstance(SelectLibrary.class.getClassLoader(),
                new Class<?>[] {SelectLibrary.class, jnr.ffi.provider.LoadedLibrary.class}, (proxy, method, args) -> {
                    try {
                        if (method.getName().equals("select")) {
                            return call.select((int) args[0], (jnr.ffi.Pointer) args[1], (jnr.ffi.Pointer) args[2],
                                    (jnr.ffi.Pointer) args[3], (jnr.ffi.Pointer) args[4]);
                        }
                        return method.invoke(REAL, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @FunctionalInterface
    private interface SelectCall {
        int select(int nfds, jnr.ffi.Pointer readfds, jnr.ffi.Pointer writefds, jnr.ffi.Pointer exceptfds,
                   jnr.ffi.Pointer timeout);
    }

    /**
     * The timeval each wait hands select(2): the timeout rounded up to whole microseconds (a wait
     * never shorter than asked, and a sub-microsecond one is a 1 us wait, not a zero-timeout poll
     * that core would repeat until its deadline, a busy spin), capped at {@link
     * SelectBackend#MAX_SECONDS} (macOS refuses more with EINVAL); NULL for no limit. Issue 23,
     * bug 18: rounded down, 999 ns became a zero timeout.
     */
    @Test
    void eachWaitWritesItsTimevalRoundedUpToMicroseconds() throws Exception {
        List<String> seen = new ArrayList<>();
        SelectLibrary lib = around((nfds, r, w, e, tv) -> {
            if (tv == null) {
                seen.add("null");
            } else {
                long sec = SelectBackend.TV_SEC_BYTES == 8 ? tv.getLong(0) : tv.getInt(0);
                long usec = SelectBackend.TV_USEC_BYTES == 8 ? tv.getLong(SelectBackend.TV_SEC_BYTES)
                        : tv.getInt(SelectBackend.TV_SEC_BYTES);
                seen.add(sec + " s " + usec + " us");
            }
            return 0;
        });
        SelectBackend backend = new SelectBackend(lib, FdSetLayout.platform(), 8);
        long max = SelectBackend.MAX_SECONDS;
        Object[][] cases = {
            {0L, "0 s 0 us"}, {1L, "0 s 1 us"}, {999L, "0 s 1 us"}, {1_000L, "0 s 1 us"}, {1_001L, "0 s 2 us"},
            {1_500_000_000L, "1 s 500000 us"}, {999_999_999L, "1 s 0 us"}, {-1L, "null"},
            {max * 1_000_000_000L - 1_000L, (max - 1) + " s 999999 us"}, {max * 1_000_000_000L + 5, max + " s 0 us"},
            {Long.MAX_VALUE, max + " s 0 us"},
        };
        for (Object[] c : cases) {
            seen.clear();
            assertEquals(0, backend.poll((Long) c[0]));
            assertEquals(List.of(c[1]), seen, "the timeval for a wait of " + c[0] + " ns");
        }
        backend.close();
    }

    /**
     * select(2) failing with EBADF for an fd that fcntl calls open (whatever makes a kernel refuse
     * it: here a select binding that refuses it in either set, injected): the backend tries each fd
     * alone, each time with sets cleared of everything but that fd, finds that one, reports it once
     * as INVALID, and, once it is gone from the set, waits normally for the others. The healthy fd is
     * tried first, after a wait that left both fds in the result and in the sets, so a stale bit
     * would get it reported instead. Issue 23, bug 17: without the per-fd fallback nothing was
     * reported, and every later wait failed the same way, forever (a spin).
     */
    @Test
    void anFdThatSelectRefusesThoughFcntlCallsItOpenIsFoundAloneAndReported() throws Exception {
        List<NativeSocketChannel> all = new ArrayList<>();
        try {
            NativeSocketChannel[] refused = NativeSockets.socketPair(); // the lower numbers: inside the
            NativeSocketChannel[] healthy = NativeSockets.socketPair(); // healthy fd's own nfds
            all.addAll(List.of(refused[0], refused[1], healthy[0], healthy[1]));
            int bad = refused[0].getFD();
            FdSetLayout layout = FdSetLayout.platform();
            boolean[] refuse = {false};
            SelectLibrary lib = around((nfds, r, w, e, tv) -> {
                if (refuse[0] && bad < nfds && ((r.getByte(layout.byteOffset(bad)) | w.getByte(layout.byteOffset(bad)))
                        & FdSetLayout.bitMask(bad)) != 0) {
                    jnr.ffi.Runtime.getRuntime(REAL).setLastError(io.polyplex.internal.NativeErrors.EBADF);
                    return -1;
                }
                return REAL.select(nfds, r, w, e, tv);
            });
            SelectBackend backend = new SelectBackend(lib, layout, 16);
            backend.register(healthy[0].getFD(), 2, Backend.READ, Backend.LEVEL);
            backend.register(bad, 1, Backend.READ | Backend.WRITE, Backend.LEVEL);
            write(healthy[1]);
            write(refused[1]);
            assertEquals(2, backend.poll(1_000_000_000L), "both ready before the refusal");
            refuse[0] = true;
            assertEquals(1, backend.poll(1_000_000_000L), "the refused fd, found alone");
            assertEquals(1, backend.readyToken(0));
            assertEquals(Backend.INVALID, backend.readyOps(0));
            backend.deregister(bad, 1, Backend.READ | Backend.WRITE, Backend.LEVEL); // as core does after the INVALID
            assertEquals(1, backend.poll(1_000_000_000L));
            assertEquals(2, backend.readyToken(0));
            assertEquals(Backend.READ, backend.readyOps(0));
            backend.close();
        } finally {
            closeAll(all);
        }
    }

    /**
     * Several fds closed without deregister fail one wait with EBADF: fcntl finds all of them in
     * that one pass, and they are all reported by that one wait (the per-fd select fallback, one fd
     * per wait, is only for what fcntl cannot see).
     */
    @Test
    void allFdsClosedBehindTheBackendsBackAreReportedByOneWait() throws Exception {
        List<NativeSocketChannel> all = new ArrayList<>();
        try (Backend backend = new SelectProvider().open(16)) {
            NativeSocketChannel[] live = NativeSockets.socketPair();
            all.add(live[0]);
            all.add(live[1]);
            backend.register(live[0].getFD(), 100, Backend.READ, Backend.LEVEL);
            Set<Long> closedTokens = new HashSet<>();
            List<NativeSocketChannel> doomed = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                NativeSocketChannel[] p = NativeSockets.socketPair();
                all.add(p[1]);
                backend.register(p[0].getFD(), i, Backend.READ, Backend.LEVEL);
                doomed.add(p[0]);
                closedTokens.add((long) i);
            }
            for (NativeSocketChannel c : doomed) {
                c.close(); // all registered first: three distinct numbers, closed behind its back
            }
            int n = backend.poll(1_000_000_000L);
            Set<Long> reported = new HashSet<>();
            for (int i = 0; i < n; i++) {
                assertEquals(Backend.INVALID, backend.readyOps(i));
                reported.add(backend.readyToken(i));
            }
            assertEquals(closedTokens, reported, "the closed fds, all in the first wait");
        } finally {
            closeAll(all);
        }
    }

    /**
     * What only the set-building and the write-only error probe decide: a socket watched for WRITE
     * alone is not reported readable when data waits; and when its connection ends, the poll(2)
     * that asks for nothing (POLLERR and POLLHUP are always reported) adds what select cannot say:
     * a TCP reset is WRITE, ERROR and PEER_CLOSED; an AF_UNIX peer's close WRITE and PEER_CLOSED.
     */
    @Test
    void aWriteOnlyRegistrationIsReportedWithWhatItsErrorProbeSees() throws Exception {
        List<NativeSocketChannel> all = new ArrayList<>();
        try (Backend backend = new SelectProvider().open(16)) {
            NativeSocketChannel[] unix = NativeSockets.socketPair();
            all.addAll(List.of(unix));
            backend.register(unix[0].getFD(), 1, Backend.WRITE, Backend.LEVEL);
            write(unix[1]);
            assertEquals(1, backend.poll(1_000_000_000L));
            assertEquals(Backend.WRITE, backend.readyOps(0), "data waiting is no news for a write-only registration");
            unix[1].close();
            assertEquals(1, backend.poll(1_000_000_000L));
            assertEquals(Backend.WRITE | Backend.PEER_CLOSED, backend.readyOps(0), "the AF_UNIX peer closed");
            backend.deregister(unix[0].getFD(), 1, Backend.WRITE, Backend.LEVEL);

            try (jnr.enxio.channels.NativeServerSocketChannel server = NativeSockets.listen(
                    new java.net.InetSocketAddress("127.0.0.1", 0), 4)) {
                NativeSocketChannel client = NativeSockets.connect(
                        (java.net.InetSocketAddress) NativeSockets.localAddress(server.getFD()));
                all.add(client);
                NativeSocketChannel accepted = null;
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (accepted == null && System.nanoTime() < deadline) {
                    accepted = NativeSockets.accept(server);
                }
                assertNotNull(accepted);
                all.add(accepted);
                backend.register(accepted.getFD(), 2, Backend.WRITE, Backend.LEVEL);
                NativeSockets.abort(client);
                int ops = 0;
                while ((ops & Backend.ERROR) == 0 && System.nanoTime() < deadline) {
                    ops = backend.poll(1_000_000_000L) == 1 ? backend.readyOps(0) : 0;
                }
                assertEquals(Backend.WRITE | Backend.ERROR | Backend.PEER_CLOSED, ops, "the TCP peer reset");
            }
        } finally {
            closeAll(all);
        }
    }

    /**
     * Bad input at the edges: a backend with no room for an event is refused at construction; an
     * fd select could watch but epoll refuses (a regular file: EPERM) and an fd that is not open
     * (EBADF) are refused at registration, naming the call, as epoll_ctl would, not at the next
     * wait; and a change made while another thread waits reaches that wait (select is handed a
     * copy of the sets, so core must wake the waiter: {@code changesNeedWakeup}).
     */
    @Test
    void badRegistrationsAreRefusedUpFrontAndChangesReachAWaitInProgress() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> new SelectBackend(REAL, FdSetLayout.platform(), 0));
        java.nio.file.Path file = java.nio.file.Files.createTempFile("polyplex", ".txt");
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        int fileFd = posix.open(file.toString(), jnr.constants.platform.OpenFlags.O_RDONLY.intValue(), 0);
        List<NativeSocketChannel> all = new ArrayList<>();
        try (Backend backend = new SelectProvider().open(16)) {
            assertEquals("select(register, fd=" + fileFd + "): EPERM (Operation not permitted)",
                    assertThrows(NativeIOException.class, () -> backend.register(fileFd, 1, Backend.READ, Backend.LEVEL))
                            .getMessage());
            NativeSocketChannel[] p = NativeSockets.socketPair();
            int closed = p[0].getFD();
            p[0].close();
            all.add(p[1]);
            assertEquals("select(register, fd=" + closed + "): EBADF (Bad file descriptor)",
                    assertThrows(NativeIOException.class, () -> backend.register(closed, 1, Backend.READ, Backend.LEVEL))
                            .getMessage());
            assertEquals(0, backend.poll(0), "nothing was registered");
        } finally {
            posix.close(fileFd);
            java.nio.file.Files.delete(file);
        }
        try (EventQueue<NativeSelectableChannel> q = EventQueues.open("select", NativeSelectableChannel::getFD)) {
            NativeSocketChannel[] p = NativeSockets.socketPair();
            all.addAll(List.of(p));
            write(p[1]);
            java.util.concurrent.atomic.AtomicReference<Object> got = new java.util.concurrent.atomic.AtomicReference<>();
            Thread waiter = new Thread(() -> {
                try {
                    got.set(q.poll(Duration.ofSeconds(60)));
                } catch (Throwable e) {
                    got.set(e);
                }
            }, "select-waiter");
            waiter.start();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (!java.util.Arrays.stream(waiter.getStackTrace()).anyMatch(f -> f.getMethodName().equals("select"))) {
                assertTrue(waiter.isAlive() && System.nanoTime() < deadline, "the waiter never blocked in select");
                Thread.sleep(1);
            }
            q.subscribeRead(p[0]);
            waiter.join(20_000);
            assertFalse(waiter.isAlive(), "a subscribe did not reach the wait in progress");
            assertEquals(1, ((List<?>) got.get()).size(), String.valueOf(got.get()));
        } finally {
            closeAll(all);
        }
    }
}
