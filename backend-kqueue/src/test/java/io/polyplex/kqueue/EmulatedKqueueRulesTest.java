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
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.net.NativeSockets;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import jnr.constants.platform.Errno;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The emulated kernel against the rules in its own table, one by one, through raw kevent(2) calls
 * in the backend's memory layout: the emulation is only worth what its rules are, so each rule the
 * backend depends on is pinned here, per flavour where FreeBSD and XNU differ. (What the rules are
 * comes from the kernels' sources; see {@link EmulatedKqueue}.)
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
@Timeout(60)
class EmulatedKqueueRulesTest {

    private static final KeventLayout L = KeventLayout.KEVENT64;
    private static final int EBADF = Errno.EBADF.intValue();
    private static final int ENOENT = Errno.ENOENT.intValue();
    private static final int EINVAL = Errno.EINVAL.intValue();
    private static final int ECONNABORTED = Errno.ECONNABORTED.intValue();

    private final List<AutoCloseable> opened = new ArrayList<>();
    private EmulatedKqueue kernel;
    private int kq;
    private final Pointer changes = Memory.allocateDirect(Runtime.getSystemRuntime(), 8L * L.size(), true);
    private final Pointer out = Memory.allocateDirect(Runtime.getSystemRuntime(), 8L * L.size(), true);
    private final Pointer zero = Memory.allocateDirect(Runtime.getSystemRuntime(), 16, true);

    record Kev(long ident, short filter, int flags, int fflags, long data, long udata) { }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
        if (kernel != null) {
            kernel.close(kq);
        }
    }

    private void open(EmulatedKqueue.Flavour flavour) {
        kernel = new EmulatedKqueue(L, flavour);
        kq = kernel.kqueue();
    }

    private NativeSocketChannel[] pair() throws Exception {
        NativeSocketChannel[] p = NativeSockets.socketPair();
        opened.add(p[0]);
        opened.add(p[1]);
        return p;
    }

    private void put(int i, int fd, short filter, int flags, long udata) {
        long at = (long) i * L.size();
        changes.setMemory(at, L.size(), (byte) 0);
        changes.putLong(at + KeventLayout.IDENT, fd);
        changes.putShort(at + KeventLayout.FILTER, filter);
        changes.putShort(at + KeventLayout.FLAGS, (short) flags);
        changes.putLong(at + KeventLayout.UDATA, udata);
    }

    private Kev get(int i) {
        long at = (long) i * L.size();
        return new Kev(out.getLong(at + KeventLayout.IDENT), out.getShort(at + KeventLayout.FILTER),
                out.getShort(at + KeventLayout.FLAGS) & 0xffff, out.getInt(at + KeventLayout.FFLAGS),
                out.getLong(at + KeventLayout.DATA), out.getLong(at + KeventLayout.UDATA));
    }

    /** One change with a receipt; returns the receipt. */
    private Kev change(int fd, short filter, int flags, long udata) {
        put(0, fd, filter, flags | EV_RECEIPT, udata);
        assertEquals(1, kernel.kevent(kq, changes, 1, out, 1, zero), "one receipt");
        return get(0);
    }

    private List<Kev> waitNow() {
        int n = kernel.kevent(kq, null, 0, out, 8, zero);
        List<Kev> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            got.add(get(i));
        }
        return got;
    }

    private static void send(NativeSocketChannel c, String s) throws Exception {
        c.write(ByteBuffer.wrap(s.getBytes()));
    }

    /** Rule 2: receipts in order, data the errno; FreeBSD replaces the flags with EV_ERROR, XNU ORs it in. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void receiptsComeBackInOrderWithTheErrno(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        int fd = pair()[0].getFD();
        put(0, fd, EVFILT_READ, EV_ADD | EV_ENABLE | EV_RECEIPT, 7);
        put(1, fd, EVFILT_WRITE, EV_DELETE | EV_RECEIPT, 7); // never added: ENOENT
        assertEquals(2, kernel.kevent(kq, changes, 2, out, 2, zero));
        int add = flavour == EmulatedKqueue.Flavour.DARWIN ? EV_ADD | EV_ENABLE | EV_RECEIPT | EV_ERROR : EV_ERROR;
        int delete = flavour == EmulatedKqueue.Flavour.DARWIN ? EV_DELETE | EV_RECEIPT | EV_ERROR : EV_ERROR;
        assertEquals(new Kev(fd, EVFILT_READ, add, 0, 0, 7), get(0));
        assertEquals(new Kev(fd, EVFILT_WRITE, delete, 0, ENOENT, 7), get(1));
    }

    /** Rule 3: no room for a failed change. FreeBSD returns at once, XNU stops there; both say its errno. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void aFailureWithNoRoomIsTheCallsErrno(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        int fd = pair()[0].getFD();
        put(0, fd, EVFILT_READ, EV_DELETE, 1); // not there
        put(1, fd, EVFILT_WRITE, EV_ADD, 1);
        assertEquals(-1, kernel.kevent(kq, changes, 2, out, 0, zero));
        assertEquals(ENOENT, kernel.lastError());
        assertEquals(List.of(), kernel.knotes(kq), "the change after the failure was applied");
    }

    /** Rule 5: EV_DELETE of a closed fd is EBADF on FreeBSD (fget first), ENOENT on macOS (knote first). */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void deletingTheKnoteOfAClosedFd(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        assertEquals(0, change(fd, EVFILT_READ, EV_ADD, 1).data());
        p[0].close();
        long want = flavour == EmulatedKqueue.Flavour.DARWIN ? ENOENT : EBADF;
        assertEquals(want, change(fd, EVFILT_READ, EV_DELETE, 1).data());
        assertEquals(EBADF, change(fd, EVFILT_READ, EV_ADD, 1).data(), "EV_ADD of a closed fd, both kernels");
    }

    /** Rule 7: EV_ADD on an existing knote keeps EV_CLEAR, replaces udata, and does not re-enable it. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void addingAgainKeepsTheTriggerAndTheDisabledState(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        change(fd, EVFILT_READ, EV_ADD | EV_CLEAR, 1);
        change(fd, EVFILT_READ, EV_ADD, 2); // no EV_CLEAR: still edge
        send(p[1], "x");
        List<Kev> got = waitNow();
        assertEquals(1, got.size());
        assertEquals(2, got.get(0).udata(), "udata replaced");
        assertEquals(List.of(), waitNow(), "the re-add turned the edge knote level");
        change(fd, EVFILT_READ, EV_DISABLE, 2);
        change(fd, EVFILT_READ, EV_ADD, 3);
        send(p[1], "y");
        assertEquals(List.of(), waitNow(), "EV_ADD alone re-enabled a disabled knote");
        change(fd, EVFILT_READ, EV_ENABLE, 3); // EV_ENABLE does, and the unread data is reported at once
        assertEquals(1, waitNow().size());
    }

    /** Rule 10: EV_ONESHOT is dropped after delivery, EV_DISPATCH disabled (and EV_ENABLE re-arms it). */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void oneshotIsDroppedAndDispatchDisabled(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        NativeSocketChannel[] p = pair();
        int a = p[0].getFD();
        NativeSocketChannel[] q = pair();
        int b = q[0].getFD();
        change(a, EVFILT_READ, EV_ADD | EV_ONESHOT, 1);
        change(b, EVFILT_READ, EV_ADD | EV_DISPATCH, 2);
        send(p[1], "x");
        send(q[1], "x");
        assertEquals(2, waitNow().size());
        assertEquals(List.of(), waitNow(), "delivered twice");
        assertEquals(List.of(b + "/read disabled dispatch udata=2"), kernel.knotes(kq));
        assertEquals(ENOENT, change(a, EVFILT_READ, EV_DELETE, 1).data(), "the one-shot knote is gone");
        change(b, EVFILT_READ, EV_ENABLE, 2);
        assertEquals(1, waitNow().size(), "re-enabled dispatch knote with unread data");
    }

    /** Rule 11: delivered flags carry the creation flags (XNU also EV_ADD) and a sticky EV_EOF. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void deliveredFlagsCarryTheCreationFlags(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        change(fd, EVFILT_READ, EV_ADD | EV_ENABLE, 1);
        send(p[1], "abc");
        p[1].close();
        Kev e = waitNow().get(0);
        int want = EV_RECEIPT | EV_EOF | (flavour == EmulatedKqueue.Flavour.DARWIN ? EV_ADD | EV_ENABLE : 0);
        assertEquals(want, e.flags());
        assertEquals(3, e.data(), "EV_EOF with the unread bytes still counted (rule 12)");
        assertEquals(0, e.fflags(), "an orderly close carries no socket error");
    }

    /** Rule 14: our own shutdown(SHUT_WR) sets EV_EOF on the write filter, with no error; the read filter stays quiet. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void ownShutdownOfOutputIsEofOnTheWriteFilter(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        change(fd, EVFILT_READ, EV_ADD, 1);
        change(fd, EVFILT_WRITE, EV_ADD, 1);
        assertEquals(List.of(EVFILT_WRITE), waitNow().stream().map(Kev::filter).toList());
        assertEquals(0, waitNow().get(0).flags() & EV_EOF);
        NativeSockets.shutdownOutput(fd);
        List<Kev> got = waitNow();
        assertEquals(1, got.size(), got.toString());
        assertEquals(EVFILT_WRITE, got.get(0).filter());
        assertEquals(EV_EOF, got.get(0).flags() & EV_EOF);
        assertEquals(0, got.get(0).fflags());
    }

    /** Rule 13: a listener shut down gets EV_EOF with ECONNABORTED on FreeBSD; XNU never sets EV_EOF on a listener. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void aListenersEof(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
        opened.add(server);
        int fd = server.getFD();
        change(fd, EVFILT_READ, EV_ADD, 1);
        assertEquals(List.of(), waitNow());
        NativeSocketChannel client = NativeSockets.connect(((InetSocketAddress) NativeSockets.localAddress(fd)));
        opened.add(client);
        long deadline = System.nanoTime() + 20_000_000_000L;
        List<Kev> got = waitNow();
        while (got.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
            got = waitNow();
        }
        assertEquals(1, got.size(), "a waiting connection makes the listener readable");
        assertEquals(0, got.get(0).flags() & EV_EOF);
        NativeSocketChannel accepted = NativeSockets.accept(server);
        opened.add(accepted);
        assertEquals(List.of(), waitNow());
        io.polyplex.internal.SocketLibrary.INSTANCE.shutdown(fd, 0); // SHUT_RD
        got = waitNow();
        if (flavour == EmulatedKqueue.Flavour.DARWIN) {
            assertEquals(List.of(), got, "XNU: no EV_EOF on a listener");
        } else {
            assertEquals(1, got.size());
            assertEquals(EV_EOF, got.get(0).flags() & EV_EOF);
            assertEquals(ECONNABORTED, got.get(0).fflags());
        }
    }

    /** Rule 9: close(2) drops the knote silently; a new file on the same number has none. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void closeDropsTheKnoteSilently(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        change(fd, EVFILT_READ, EV_ADD, 1);
        send(p[1], "x");
        p[0].close();
        assertEquals(List.of(), waitNow(), "an event for a closed fd");
        NativeSocketChannel[] again = pair(); // likely the same number again
        assertTrue(kernel.knotes(kq).isEmpty(), kernel.knotes(kq).toString());
        send(again[1], "y");
        assertEquals(List.of(), waitNow(), "a knote survived close onto the new file");
    }

    /**
     * Rule 20 (FreeBSD {@code kqueue_register}): a close between {@code fget} and {@code
     * knote_attach} leaves a knote that holds the closed file under the fd number. A later EV_ADD for
     * a new file on that number only replaces the old knote's udata; an EV_DELETE drops it once the
     * number is open again.
     */
    @org.junit.jupiter.api.Test
    void aCloseRacingAnAddLeavesAKnoteOnTheClosedFile() throws Exception {
        open(EmulatedKqueue.Flavour.FREEBSD);
        NativeSocketChannel[] old = pair();
        int fd = old[0].getFD();
        kernel.closeDuringNextAdd(fd, () -> closeQuietly(old[0]));
        assertEquals(0, change(fd, EVFILT_READ, EV_ADD, 1).data(), "the add succeeds all the same");
        assertEquals(List.of(fd + "/read enabled orphan udata=1"), kernel.knotes(kq));
        assertEquals(EBADF, change(fd, EVFILT_READ, EV_DELETE, 1).data(), "a closed number: fget fails first");
        NativeSocketChannel[] next = pair();
        reuseNumber(next[0], fd);
        assertEquals(0, change(fd, EVFILT_READ, EV_ADD, 2).data());
        assertEquals(List.of(fd + "/read enabled orphan udata=2"), kernel.knotes(kq), "the add found the old knote");
        send(next[1], "new");
        assertEquals(List.of(), waitNow(), "the new socket's data was reported through the old knote");
        send(old[1], "old");
        assertEquals(List.of(2L), waitNow().stream().map(Kev::udata).toList(), "the old file's readiness, new udata");
        assertEquals(0, change(fd, EVFILT_READ, EV_DELETE, 2).data(), "an open number: the delete drops it");
        assertTrue(peerIsGone(old[1]), "the dropped knote let the old file close");
        assertEquals(0, change(fd, EVFILT_READ, EV_ADD, 3).data());
        assertEquals(List.of(3L), waitNow().stream().map(Kev::udata).toList(), "a fresh knote on the new file");
    }

    /** Whether {@code c}'s peer has closed: end of stream, or a reset (it closed with unread data). */
    private static boolean peerIsGone(NativeSocketChannel c) {
        try {
            return c.read(ByteBuffer.allocate(8)) < 0;
        } catch (java.io.IOException e) {
            return true;
        }
    }

    private static void closeQuietly(NativeSocketChannel c) {
        try {
            c.close();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Moves {@code c}'s socket to the number {@code fd} (free), as a later socket(2) or accept(2) would. */
    private void reuseNumber(NativeSocketChannel c, int fd) throws Exception {
        if (c.getFD() == fd) {
            return; // the lowest free number was taken already, as it usually is
        }
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        assertEquals(fd, posix.dup2(c.getFD(), fd));
        c.close();
        opened.add(() -> posix.close(fd));
    }

    /** Rule 4: with receipts written the call returns at once; with none and no room it returns 0. */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void receiptsNeverWaitAndNoRoomNeverBlocks(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        int fd = pair()[0].getFD();
        Pointer forever = null;
        put(0, fd, EVFILT_READ, EV_ADD | EV_RECEIPT, 1);
        assertEquals(1, kernel.kevent(kq, changes, 1, out, 8, forever), "waited for events after a receipt");
        assertEquals(0, kernel.kevent(kq, null, 0, out, 0, forever), "nevents 0 waited");
    }

    /** Rule 17: a timeout with tv_nsec of 10^9 or more is refused (XNU accepts exactly 10^9). */
    @ParameterizedTest
    @EnumSource(value = EmulatedKqueue.Flavour.class, names = {"FREEBSD", "DARWIN"})
    void invalidTimeoutsAreRefused(EmulatedKqueue.Flavour flavour) throws Exception {
        open(flavour);
        Pointer ts = Memory.allocateDirect(Runtime.getSystemRuntime(), 16, true);
        ts.putLong(0, 0);
        ts.putLong(8, 1_000_000_001L);
        assertEquals(-1, kernel.kevent(kq, null, 0, out, 1, ts));
        assertEquals(EINVAL, kernel.lastError());
        ts.putLong(8, -1);
        assertEquals(-1, kernel.kevent(kq, null, 0, out, 1, ts));
    }

    /**
     * Rule 19: DragonFly's {@code kern_kevent} writes a receipt per change without looking at the
     * room left; the emulation refuses to (it would write past the caller's list) and says so.
     */
    @org.junit.jupiter.api.Test
    void dragonFlyWritesReceiptsPastTheRoomGiven() throws Exception {
        open(EmulatedKqueue.Flavour.DRAGONFLY);
        int fd = pair()[0].getFD();
        put(0, fd, EVFILT_READ, EV_ADD | EV_RECEIPT, 1);
        put(1, fd, EVFILT_WRITE, EV_ADD | EV_RECEIPT, 1);
        assertEquals(2, kernel.kevent(kq, changes, 2, out, 2, zero), "room for both: two receipts");
        AssertionError overrun = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> kernel.kevent(kq, changes, 2, out, 1, zero));
        assertTrue(overrun.getMessage().contains("past the caller's list of 1"), overrun.getMessage());
    }

    /** Rule 18: a kernel without EV_RECEIPT writes nothing for a successful change and goes on to wait. */
    @org.junit.jupiter.api.Test
    void withoutEvReceiptASuccessfulChangeWritesNothing() throws Exception {
        open(EmulatedKqueue.Flavour.NO_RECEIPTS);
        NativeSocketChannel[] p = pair();
        send(p[1], "x");
        put(0, p[0].getFD(), EVFILT_READ, EV_ADD | EV_RECEIPT, 5);
        assertEquals(1, kernel.kevent(kq, changes, 1, out, 1, zero), "the ready event, where a receipt belongs");
        assertEquals(0, get(0).flags() & EV_ERROR, "that is no receipt");
    }
}
