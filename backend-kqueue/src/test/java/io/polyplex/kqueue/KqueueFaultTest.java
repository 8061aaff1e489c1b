package io.polyplex.kqueue;

import static io.polyplex.kqueue.KqueueBackend.EVFILT_READ;
import static io.polyplex.kqueue.KqueueBackend.EVFILT_WRITE;
import static io.polyplex.kqueue.KqueueBackend.EV_ADD;
import static io.polyplex.kqueue.KqueueBackend.EV_DELETE;
import static io.polyplex.kqueue.KqueueBackend.EV_DISABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.NativeIOException;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import io.polyplex.net.NativeSockets;
import io.polyplex.spi.RegistrationLostException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import jnr.constants.platform.Errno;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A change the kernel refuses in the middle of a changelist, for every errno kevent(2) documents
 * on FreeBSD and macOS (EACCES, EFAULT, EBADF, EINTR, EINVAL, ENOENT, ENOMEM, ESRCH; the same numbers
 * on both and on Linux), reported as the kernel reports it: an EV_ERROR receipt, with the changes
 * before and after it applied. Over the emulated kernel in each flavour and layout. After each fault:
 * the exception names the change, the fd and the errno; the kernel's enabled knotes are exactly
 * those it had before, with the same trigger and token (nothing half-registered); core's state is as
 * before; and the socket is still reported as that state says.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
@Timeout(60)
class KqueueFaultTest {

    static final String[] DOCUMENTED = {"EACCES", "EFAULT", "EBADF", "EINTR", "EINVAL", "ENOENT", "ENOMEM", "ESRCH"};

    /** The kernels: macOS (32-byte kevent), FreeBSD 12+ (64-byte), FreeBSD 11 / OpenBSD / DragonFly (32-byte). */
    static Stream<Arguments> kernelsAndErrnos() {
        List<Arguments> all = new ArrayList<>();
        for (Object[] k : new Object[][] {
            {EmulatedKqueue.Flavour.DARWIN, KeventLayout.KEVENT32},
            {EmulatedKqueue.Flavour.FREEBSD, KeventLayout.KEVENT64},
            {EmulatedKqueue.Flavour.FREEBSD, KeventLayout.KEVENT32}}) {
            for (String errno : DOCUMENTED) {
                all.add(Arguments.of(k[0], k[1], errno));
            }
        }
        return all.stream();
    }

    private final List<AutoCloseable> opened = new ArrayList<>();
    private EmulatedKqueue kernel;
    private EventQueue<NativeSocketChannel> queue;
    private int kq;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
    }

    private void open(EmulatedKqueue.Flavour flavour, KeventLayout layout) throws Exception {
        kernel = new EmulatedKqueue(layout, flavour);
        queue = EventQueues.open(new KqueueProvider(kernel, layout, kernel::lastError), NativeSelectableChannel::getFD);
        opened.add(queue);
        kq = kernel.lastQueue();
    }

    private NativeSocketChannel[] pair() throws Exception {
        NativeSocketChannel[] p = NativeSockets.socketPair();
        opened.add(p[0]);
        opened.add(p[1]);
        return p;
    }

    /**
     * The knotes of {@code fd} that can report: enabled ones, with their trigger and token. (A
     * disabled knote and none report alike; putting back a trigger change recreates only the
     * enabled ones.)
     */
    private List<String> knotesOf(int fd) {
        return kernel.knotes(kq).stream().filter(k -> k.startsWith(fd + "/") && k.contains(" enabled")).toList();
    }

    private static int errno(String name) {
        return Errno.valueOf(name).intValue();
    }

    /** Asserts the exception names the failed change, the fd and the errno. */
    private static void assertNames(NativeIOException e, String change, int fd, String errno) {
        assertTrue(e.getMessage().startsWith("kevent(" + change + ", fd=" + fd + "): " + errno + " ("), e.getMessage());
        assertEquals(errno, e.errnoName());
    }

    /** The socket is reported as core's state says: READ while read is enabled, nothing otherwise. */
    private void assertStillWorks(NativeSocketChannel[] p, boolean readEnabled) throws Exception {
        p[1].write(ByteBuffer.wrap(new byte[] {1}));
        long deadline = System.nanoTime() + 20_000_000_000L;
        boolean seen = false;
        while (!seen && System.nanoTime() < deadline) {
            for (var e : queue.poll(Duration.ofMillis(readEnabled ? 200 : 300))) {
                if (e.socket() == p[0] && e.isReadable()) {
                    seen = true;
                }
            }
            if (!readEnabled) {
                break;
            }
        }
        assertEquals(readEnabled, seen, readEnabled ? "read no longer reported" : "read reported while not subscribed");
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndErrnos")
    void aRegisterRefusedOnItsSecondFilterLeavesNothing(EmulatedKqueue.Flavour flavour, KeventLayout layout, String errno)
            throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        kernel.failNext(EVFILT_WRITE, EV_ADD, errno(errno)); // the read filter's add before it succeeds
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribeReadWrite(p[0]));
        assertNames(e, "EV_ADD EVFILT_WRITE", fd, errno);
        assertEquals(List.of(), knotesOf(fd), "half-registered");
        assertFalse(queue.isSubscribedRead(p[0]) || queue.isSubscribedWrite(p[0]));
        assertStillWorks(p, false);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndErrnos")
    void aRegisterRefusedOnItsFirstFilterLeavesNothing(EmulatedKqueue.Flavour flavour, KeventLayout layout, String errno)
            throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        kernel.failNext(EVFILT_READ, EV_ADD, errno(errno)); // the write filter's add after it succeeds
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribeReadWrite(p[0]));
        assertNames(e, "EV_ADD EVFILT_READ", fd, errno);
        assertEquals(List.of(), knotesOf(fd), "half-registered");
        assertFalse(queue.isSubscribedRead(p[0]) || queue.isSubscribedWrite(p[0]));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndErrnos")
    void aTriggerChangeRefusedAfterItsDeletesPutsTheOldKnotesBack(EmulatedKqueue.Flavour flavour, KeventLayout layout,
                                                                 String errno) throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribeReadWrite(p[0]);
        queue.disableWrite(p[0]);
        List<String> before = knotesOf(fd);
        assertEquals(1, before.size(), before.toString());
        // delete read, add read (refused), delete write: the kernel applies the two deletes.
        kernel.failNext(EVFILT_READ, EV_ADD, errno(errno));
        NativeIOException e = assertThrows(NativeIOException.class,
                () -> queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE));
        assertNames(e, "EV_ADD EVFILT_READ", fd, errno);
        assertEquals(before, knotesOf(fd), "the old knotes were not put back");
        assertTrue(queue.isSubscribedRead(p[0]) && queue.isSubscribedWrite(p[0]) && queue.isDisabledWrite(p[0]));
        assertStillWorks(p, true);
        assertStillWorks(p, true); // and still level-triggered
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndErrnos")
    void anAddedDirectionRefusedLeavesTheOtherAsItWas(EmulatedKqueue.Flavour flavour, KeventLayout layout, String errno)
            throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribe(p[0], SocketEvent.READ, Trigger.ONE_SHOT);
        List<String> before = knotesOf(fd);
        kernel.failNext(EVFILT_WRITE, EV_ADD, errno(errno));
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribeWrite(p[0]));
        assertNames(e, "EV_ADD EVFILT_WRITE", fd, errno);
        assertEquals(before, knotesOf(fd));
        assertTrue(queue.isSubscribedRead(p[0]) && !queue.isSubscribedWrite(p[0]));
        assertStillWorks(p, true);
        assertTrue(queue.isDisabledRead(p[0]), "still one-shot");
    }

    /** ENOENT and EBADF are what a disable or delete of something already gone gets: not faults. */
    static Stream<Arguments> kernelsAndRealFaults() {
        return kernelsAndErrnos().filter(a -> !a.get()[2].equals("ENOENT") && !a.get()[2].equals("EBADF"));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndRealFaults")
    void aRefusedDisableLeavesBothDirectionsAsTheyWere(EmulatedKqueue.Flavour flavour, KeventLayout layout, String errno)
            throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribeReadWrite(p[0]);
        List<String> before = knotesOf(fd);
        kernel.failNext(EVFILT_READ, EV_DISABLE, errno(errno));
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.disableRead(p[0]));
        assertNames(e, "EV_DISABLE EVFILT_READ", fd, errno);
        assertEquals(before, knotesOf(fd));
        assertFalse(queue.isDisabledRead(p[0]));
        assertStillWorks(p, true);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndRealFaults")
    void aRefusedRemovePutsBackWhatItDeleted(EmulatedKqueue.Flavour flavour, KeventLayout layout, String errno)
            throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribe(p[0], SocketEvent.READ | SocketEvent.WRITE, Trigger.EDGE);
        List<String> before = knotesOf(fd);
        kernel.failNext(EVFILT_READ, EV_DELETE, errno(errno)); // the write filter's delete after it succeeds
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.remove(p[0]));
        assertNames(e, "EV_DELETE EVFILT_READ", fd, errno);
        assertEquals(before, knotesOf(fd), "half-removed");
        assertTrue(queue.isSubscribedRead(p[0]) && queue.isSubscribedWrite(p[0]));
        queue.remove(p[0]); // and a second try finishes the job
        assertEquals(List.of(), knotesOf(fd));
        assertStillWorks(p, false);
    }

    /** A change refused, and putting the old one back refused too: the socket is gone, and says so. */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndRealFaults")
    void whenPuttingBackFailsTooTheSocketIsRemovedAndTheCallerTold(EmulatedKqueue.Flavour flavour, KeventLayout layout,
                                                                  String errno) throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribeRead(p[0]);
        kernel.failNext(EVFILT_READ, EV_ADD, errno(errno)); // the new trigger's add
        kernel.failNext(EVFILT_READ, EV_ADD, errno(errno)); // the old one's, put back
        RegistrationLostException e = assertThrows(RegistrationLostException.class,
                () -> queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE));
        assertTrue(e.getMessage().contains("fd=" + fd) && e.getMessage().contains(errno)
                && e.getMessage().contains("removed from the queue"), e.getMessage());
        assertEquals(List.of(), knotesOf(fd));
        assertFalse(queue.isSubscribedRead(p[0]));
        queue.subscribeRead(p[0]); // subscribing again works
        assertStillWorks(p, true);
    }

    /**
     * A trigger change refused on its second filter, after the first was recreated with the new
     * trigger: putting back deletes that knote and adds it again with the old trigger (EV_ADD on a
     * knote that exists keeps its EV_CLEAR: FreeBSD {@code kqueue_register}, XNU {@code
     * kevent_register}), so both knotes are as before. Issue 24: the recreate branch of the
     * restore was never seen doing its delete.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndRealFaults")
    void aTriggerChangeRefusedOnItsSecondFilterPutsTheFirstBackWithItsOldTrigger(EmulatedKqueue.Flavour flavour,
            KeventLayout layout, String errno) throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribeReadWrite(p[0]);
        List<String> before = knotesOf(fd);
        assertEquals(2, before.size(), before.toString());
        // delete read, add read (edge: done), delete write, add write (edge: refused).
        kernel.failNext(EVFILT_WRITE, EV_ADD, errno(errno));
        NativeIOException e = assertThrows(NativeIOException.class,
                () -> queue.subscribe(p[0], SocketEvent.READ | SocketEvent.WRITE, Trigger.EDGE));
        assertNames(e, "EV_ADD EVFILT_WRITE", fd, errno);
        assertEquals(before, knotesOf(fd), "not put back as it was (the read knote kept the new trigger?)");
        assertStillWorks(p, true);
        assertStillWorks(p, true); // and still level-triggered
    }

    /**
     * The same with a write-only registration turning into a read-and-write one: putting back is
     * shaped differently from the refused change (a delete of read; a delete and an add of
     * write), so each of its entries is written anew, none left from the refused changelist
     * (which had an edge-triggered add of read where putting back has its delete of write).
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndRealFaults")
    void aWriteOnlyRegistrationWhoseTriggerChangeIsRefusedIsPutBackExactly(EmulatedKqueue.Flavour flavour,
            KeventLayout layout, String errno) throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribeWrite(p[0]);
        List<String> before = knotesOf(fd);
        assertEquals(1, before.size(), before.toString());
        kernel.failNext(EVFILT_WRITE, EV_ADD, errno(errno));
        NativeIOException e = assertThrows(NativeIOException.class,
                () -> queue.subscribe(p[0], SocketEvent.READ | SocketEvent.WRITE, Trigger.EDGE));
        assertNames(e, "EV_ADD EVFILT_WRITE", fd, errno);
        assertEquals(before, knotesOf(fd), "not put back as it was");
        assertStillWorks(p, false);
    }

    /**
     * A change refused and its putting back refused too, after putting back had already recreated
     * one filter: that half-restored knote is deleted with the rest, so nothing of the fd is left
     * in the kernel when the caller is told the registration is lost. Issue 23, bug 15: the
     * half-restored knote stayed, and kept reporting a socket core had forgotten.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("kernelsAndRealFaults")
    void aRegistrationLostHalfWayThroughPuttingBackLeavesNoKnote(EmulatedKqueue.Flavour flavour, KeventLayout layout,
            String errno) throws Exception {
        open(flavour, layout);
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        queue.subscribeReadWrite(p[0]);
        kernel.failNext(EVFILT_WRITE, EV_ADD, errno(errno)); // the new trigger's write add
        kernel.failNext(EVFILT_WRITE, EV_ADD, errno(errno)); // the old one's, put back after the read
        RegistrationLostException e = assertThrows(RegistrationLostException.class,
                () -> queue.subscribe(p[0], SocketEvent.READ | SocketEvent.WRITE, Trigger.EDGE));
        assertTrue(e.getMessage().contains("fd=" + fd) && e.getMessage().contains("removed from the queue"), e.getMessage());
        assertEquals(List.of(), kernel.knotes(kq).stream().filter(k -> k.startsWith(fd + "/")).toList(),
                "knotes left for a socket the queue has forgotten");
        assertFalse(queue.isSubscribedRead(p[0]) || queue.isSubscribedWrite(p[0]));
    }

    /**
     * DragonFly BSD before 4.6 ignored EV_RECEIPT: a successful change wrote no entry and the call
     * went on to return ready events. The queue refuses to open there, names the reason, and leaves
     * nothing open; the automatic choice moves on to the next backend.
     */
    @Test
    void aKernelThatIgnoresEvReceiptIsRefusedAtOpen() throws Exception {
        EmulatedKqueue legacy = new EmulatedKqueue(KeventLayout.KEVENT32, EmulatedKqueue.Flavour.NO_RECEIPTS);
        java.util.Set<Integer> fdsBefore = openFds();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> EventQueues.open(
                new KqueueProvider(legacy, KeventLayout.KEVENT32, legacy::lastError), NativeSelectableChannel::getFD));
        assertTrue(e.getMessage().contains("ignores EV_RECEIPT") && e.getMessage().contains("poll"), e.getMessage());
        assertEquals(0, legacy.openQueues(), "the kqueue was left open");
        java.util.Set<Integer> leaked = openFds();
        leaked.removeAll(fdsBefore);
        leaked.removeIf(KqueueFaultTest::openedByPath);
        assertEquals(java.util.Set.of(), leaked, "fds left open");
    }

    private static java.util.Set<Integer> openFds() {
        java.util.Set<Integer> s = new java.util.HashSet<>();
        for (String n : java.util.Objects.requireNonNull(new java.io.File("/proc/self/fd").list())) {
            s.add(Integer.parseInt(n));
        }
        return s;
    }

    private static boolean openedByPath(int fd) {
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + fd)).toString().startsWith("/");
        } catch (java.io.IOException e) {
            return true; // gone again: the listing's own fd
        }
    }
}
