package io.polyplex.selector.contract;

import static io.polyplex.selector.contract.ChannelKind.fill;
import static io.polyplex.selector.contract.ChannelKind.readNow;
import static io.polyplex.selector.contract.ChannelKind.write;
import static java.nio.channels.SelectionKey.OP_ACCEPT;
import static java.nio.channels.SelectionKey.OP_CONNECT;
import static java.nio.channels.SelectionKey.OP_READ;
import static java.nio.channels.SelectionKey.OP_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.IllegalSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The {@link Selector} contract as the JDK documents it, scenario by scenario, modelled on what
 * OpenJDK's own regression tests in {@code test/jdk/java/nio/channels/Selector} check (their names
 * are given where a scenario follows one), written anew for jnr-enxio and jnr-unixsocket channels.
 * A selector implementation runs it by extending this class and implementing {@link #openSelector}:
 * Polyplex's on every backend, jnr-enxio's to record where it departs from the contract.
 *
 * <p>Channel-dependent scenarios run once per {@link ChannelKind}. Waits are bounded: a selector
 * that never returns fails after {@link #eventually()}, never hangs the build.
 */
public abstract class SelectorSuite extends SelectorBase {

    // ------------------------------------------------------------------ readiness

    /** A readable channel is selected with exactly OP_READ, and select counts it. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void readableChannelIsSelected(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        write(p[1], "x");
        assertEquals(1, selector.select(eventually().toMillis()), "select's count");
        assertEquals(Set.of(k), selector.selectedKeys());
        assertEquals(OP_READ, k.readyOps());
        assertTrue(k.isReadable());
    }

    /** Level-triggered: data left unread selects the key again on every selection. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void unreadDataIsSelectedAgain(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        write(p[1], "x");
        for (int i = 0; i < 3; i++) {
            selector.selectedKeys().clear();
            assertEquals(1, selector.select(eventually().toMillis()), "selection " + i);
            assertTrue(selector.selectedKeys().contains(k));
        }
    }

    /** SelectAfterRead: once everything was read, a select with a timeout waits all of it. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void selectAfterReadingEverythingWaits(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        write(p[1], "hello");
        awaitSelected(k, OP_READ);
        assertEquals(5, readNow(p[0]));
        selector.selectedKeys().clear();
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "select after reading everything");
        assertTrue(selector.selectedKeys().isEmpty());
    }

    /** A connected channel with room to send is selected with OP_WRITE at once. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void writableChannelIsSelected(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_WRITE);
        assertEquals(1, selector.select(eventually().toMillis()));
        assertEquals(OP_WRITE, k.readyOps());
    }

    /** BasicAccept: a listener is selected with OP_ACCEPT when a client connects. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void listenerIsSelectedForAccept(ChannelKind kind) throws Exception {
        ChannelKind.Listener l = listen(kind);
        SelectionKey k = l.channel().register(selector, OP_ACCEPT);
        assertEquals(0, selector.selectNow(), "nothing to accept yet");
        closeLater(l.connect());
        awaitSelected(k, OP_ACCEPT);
        assertEquals(OP_ACCEPT, k.readyOps());
        assertTrue(closeLater(l.accept()) != null, "accept after OP_ACCEPT");
    }

    /**
     * BasicConnect, ConnectWrite: a connection under way is reported through the key's interest.
     * jnr-unixsocket's UnixSocketChannel is a SocketChannel: OP_CONNECT while its connection is
     * pending, OP_WRITE once connected even with OP_CONNECT still in the interest set. jnr-enxio's
     * TCP channel has no OP_CONNECT: its connect is reported as OP_WRITE.
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void connectionIsReported(ChannelKind kind) throws Exception {
        ChannelKind.Listener l = listen(kind);
        if (kind == ChannelKind.TCP) {
            NativeSocketChannel c = closeLater(NativeSockets.startConnect(l.tcp()));
            c.configureBlocking(false);
            SelectionKey k = c.register(selector, OP_WRITE);
            awaitSelected(k, OP_WRITE);
            assertTrue(NativeSockets.finishConnect(c));
            return;
        }
        UnixSocketChannel c = closeLater(UnixSocketChannel.create());
        c.configureBlocking(false);
        boolean connected = c.connect(l.unix());
        SelectionKey k = c.register(selector, OP_CONNECT | OP_WRITE);
        if (!connected) {
            awaitSelected(k, OP_CONNECT);
            assertEquals(OP_CONNECT, k.readyOps(), "a pending connection is reported as OP_CONNECT alone");
            assertTrue(c.finishConnect());
            selector.selectedKeys().clear();
        }
        awaitSelected(k, OP_WRITE);
        assertEquals(OP_WRITE, k.readyOps(), "a connected channel is reported as OP_WRITE, not OP_CONNECT");
    }

    /** A peer that closes makes a key interested in OP_READ readable; the read sees end of stream. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void peerCloseIsReadable(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        write(p[1], "last");
        p[1].close();
        awaitSelected(k, OP_READ);
        assertEquals(4, readNow(p[0]), "the data sent before the close is still there");
        assertEquals(-1, readNow(p[0]), "then the end of stream");
    }

    /**
     * A peer gone while our send buffer is full: the key, interested only in OP_WRITE, is reported
     * writable (POLLHUP/POLLERR make every interest ready), and the write then fails.
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void peerGoneIsReportedThroughWriteInterest(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        fill(p[0]);
        SelectionKey k = p[0].register(selector, OP_WRITE);
        assertEquals(0, selector.selectNow(), "a full send buffer is not writable");
        if (kind == ChannelKind.TCP) {
            NativeSockets.abort((NativeSocketChannel) p[1]); // RST
        } else {
            p[1].close();
        }
        awaitSelected(k, OP_WRITE);
        assertThrows(IOException.class, () -> {
            for (int i = 0; i < 1000; i++) {
                fill(p[0]);
            }
        }, "writing to a peer that is gone fails");
    }

    /** A hang-up on a key with no interest does not make every selection return at once. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void hangUpWithNoInterestDoesNotWakeSelect(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, 0);
        p[1].close();
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "select with a hung-up key of no interest");
        assertFalse(selector.selectedKeys().contains(k));
    }

    /** A datagram channel (jnr-unixsocket's) is selected when a datagram arrives. */
    @Test
    void datagramChannelIsSelected() throws Exception {
        UnixDatagramChannel[] p = UnixDatagramChannel.pair();
        closeLater(p[0]);
        closeLater(p[1]);
        p[0].configureBlocking(false);
        SelectionKey k = p[0].register(selector, OP_READ);
        assertEquals(0, selector.selectNow());
        p[1].write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
        awaitSelected(k, OP_READ);
    }

    // ------------------------------------------------------------------ key sets and counts

    /** KeysReady: select returns the number of keys it selected, all of them in the selected-key set. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void selectCountsEveryReadyKey(ChannelKind kind) throws Exception {
        List<SelectionKey> ready = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            AbstractSelectableChannel[] p = pair(kind);
            ready.add(p[0].register(selector, OP_READ));
            write(p[1], "x");
            p[1].register(selector, OP_READ); // registered, never ready
        }
        long deadline = System.nanoTime() + eventually().toNanos();
        int total = 0;
        while (total < 5 && System.nanoTime() < deadline) {
            total += selector.select(100);
        }
        assertEquals(5, total, "the counts of the selections");
        assertEquals(Set.copyOf(ready), selector.selectedKeys());
    }

    /** UpdateReadyOps: a key already selected accumulates ready operations; the count says when. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void readySetAccumulatesWhileSelected(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ | OP_WRITE);
        assertEquals(1, selector.selectNow(), "writable: selected");
        assertEquals(OP_WRITE, k.readyOps());
        write(p[1], "x");
        awaitSelected(k, OP_READ);
        assertEquals(OP_READ | OP_WRITE, k.readyOps(), "OP_READ added to the ready set of a selected key");
        assertEquals(0, selector.selectNow(), "nothing new: the count is 0");
        assertEquals(OP_READ | OP_WRITE, k.readyOps());
        assertEquals(1, readNow(p[0]));
        assertEquals(0, selector.selectNow(), "a selected key keeps its ready set when an operation stops being ready");
        assertEquals(OP_READ | OP_WRITE, k.readyOps());
        selector.selectedKeys().remove(k);
        assertEquals(1, selector.selectNow(), "re-selected after it left the selected-key set");
        assertEquals(OP_WRITE, k.readyOps(), "a key newly selected gets exactly what is ready now");
    }

    /** A key with an empty interest set is never selected, whatever its channel is ready for. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void emptyInterestIsNeverSelected(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        write(p[1], "x");
        k.interestOps(0);
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "select with only an empty interest set");
        k.interestOps(OP_READ);
        awaitSelected(k, OP_READ);
    }

    /** The key set cannot be modified; the selected-key set only shrinks; both are the selector's. */
    @Test
    void keySetsAreModifiableOnlyAsSpecified() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_WRITE);
        assertEquals(Set.of(k), selector.keys());
        assertThrows(UnsupportedOperationException.class, () -> selector.keys().add(k), "keys().add");
        assertThrows(UnsupportedOperationException.class, () -> selector.keys().remove(k), "keys().remove");
        assertThrows(UnsupportedOperationException.class, () -> selector.keys().clear(), "keys().clear");
        assertEquals(1, selector.selectNow());
        Set<SelectionKey> selected = selector.selectedKeys();
        assertThrows(UnsupportedOperationException.class, () -> selected.add(k), "selectedKeys().add");
        assertTrue(selected.remove(k), "selectedKeys().remove");
        assertTrue(selected.isEmpty());
        assertEquals(1, selector.selectNow());
        Iterator<SelectionKey> it = selected.iterator();
        assertSame(k, it.next());
        it.remove();
        assertTrue(selected.isEmpty(), "removed through the iterator");
        assertEquals(1, selector.selectNow());
        selected.clear();
        assertTrue(selected.isEmpty(), "cleared");
        assertTrue(selector.keys().contains(k), "the key stays registered");
    }

    /** The selected-key set's iterators are fail-fast; the key set's iterate during registrations. */
    @Test
    void iteratorsFailFastOrStayConsistent() throws Exception {
        List<SelectionKey> keys = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            keys.add(pair(ChannelKind.TCP)[0].register(selector, OP_WRITE));
        }
        assertEquals(3, selector.selectNow());
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        SelectionKey first = it.next();
        selector.selectedKeys().remove(keys.get(keys.get(0) == first ? 1 : 0));
        assertThrows(ConcurrentModificationException.class, it::next, "fail-fast after a removal outside the iterator");
        // The key set is thread-safe: iterating it while another registration lands never throws.
        Iterator<SelectionKey> all = selector.keys().iterator();
        all.next();
        pair(ChannelKind.TCP)[0].register(selector, OP_READ);
        while (all.hasNext()) {
            all.next();
        }
    }

    // ------------------------------------------------------------------ interest

    /** interestOps, interestOpsOr and interestOpsAnd: values returned, invalid bits refused. */
    @Test
    void interestOpsOrAndAndValidation() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_READ);
        assertEquals(OP_READ, k.interestOps());
        assertEquals(OP_READ, k.interestOpsOr(OP_WRITE), "interestOpsOr returns the previous set");
        assertEquals(OP_READ | OP_WRITE, k.interestOps());
        assertEquals(OP_READ | OP_WRITE, k.interestOpsAnd(~OP_READ), "interestOpsAnd returns the previous set");
        assertEquals(OP_WRITE, k.interestOps());
        assertThrows(IllegalArgumentException.class, () -> k.interestOps(OP_ACCEPT), "OP_ACCEPT on a connection");
        assertThrows(IllegalArgumentException.class, () -> k.interestOpsOr(OP_ACCEPT));
        assertEquals(OP_WRITE, k.interestOps(), "a refused change changes nothing");
        assertEquals(1, selector.selectNow());
        assertEquals(OP_WRITE, k.readyOps());
    }

    /**
     * ChangingInterests: each interest set is honoured by the next selection, switching between
     * read, write, both and none.
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void changingInterestsAreHonoured(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        write(p[1], "x"); // readable and writable from now on
        SelectionKey k = p[0].register(selector, 0);
        int[] sequence = {OP_READ, OP_WRITE, OP_READ | OP_WRITE, 0, OP_WRITE, OP_READ, 0, OP_READ | OP_WRITE};
        for (int ops : sequence) {
            k.interestOps(ops);
            selector.selectedKeys().clear();
            if (ops == 0) {
                assertEquals(0, selector.selectNow(), "interest 0");
                continue;
            }
            awaitSelected(k, ops);
            assertEquals(ops, k.readyOps(), "ready set for interest 0x" + Integer.toHexString(ops));
        }
    }

    /**
     * An interest set changed from another thread while a selection is blocked takes effect in that
     * selection, without a wakeup (the JDK applies it at its next selection).
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void interestChangeReachesABlockedSelect(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        write(p[1], "x");
        SelectionKey k = p[0].register(selector, 0);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger count = new AtomicInteger(-1);
        Thread t = start("selecting", () -> count.set(selector.select(eventually().toMillis())), failure);
        awaitBlockedInSelect(t);
        k.interestOps(OP_READ);
        assertEnds(t, "select after an interest change");
        assertNoFailure(failure);
        assertEquals(1, count.get(), "the blocked select saw the change");
        assertEquals(OP_READ, k.readyOps());
    }

    /** RegisterDuringSelect: registering while another thread is blocked in select does not block. */
    @Test
    void registerDuringSelectDoesNotBlock() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> selector.select(), failure);
        awaitBlockedInSelect(t);
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        Thread reg = start("registering", () -> p[0].register(selector, OP_READ), failure);
        assertEnds(reg, "register while a select is blocked");
        selector.wakeup();
        assertEnds(t, "select after wakeup");
        assertNoFailure(failure);
        assertTrue(p[0].keyFor(selector) != null && p[0].keyFor(selector).isValid());
    }

    /** A channel the selector cannot watch is refused with IllegalSelectorException, as the JDK does. */
    @Test
    void foreignChannelIsRefused() throws Exception {
        SocketChannel jdk = closeLater(SocketChannel.open());
        jdk.configureBlocking(false);
        assertThrows(IllegalSelectorException.class, () -> jdk.register(selector, OP_READ));
        assertFalse(jdk.isRegistered());
    }

    /** IllegalBlockingModeException for a blocking channel, IllegalArgumentException for invalid ops. */
    @Test
    void registrationChecksItsArguments() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        p[0].configureBlocking(true);
        assertThrows(java.nio.channels.IllegalBlockingModeException.class, () -> p[0].register(selector, OP_READ));
        p[0].configureBlocking(false);
        assertThrows(IllegalArgumentException.class, () -> p[0].register(selector, OP_ACCEPT));
        SelectionKey k = p[0].register(selector, OP_READ, "first");
        assertSame(k, p[0].register(selector, OP_WRITE, "second"), "registering again updates the same key");
        assertEquals(OP_WRITE, k.interestOps());
        assertEquals("second", k.attachment());
    }

    // ------------------------------------------------------------------ cancelled keys

    /** A cancelled key stays in the key set until the next selection, which deregisters its channel. */
    @Test
    void cancelledKeyIsDeregisteredByTheNextSelection() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_WRITE);
        assertEquals(1, selector.selectNow());
        k.cancel();
        assertFalse(k.isValid());
        assertTrue(selector.keys().contains(k), "still in the key set before the next selection");
        assertTrue(p[0].isRegistered(), "still registered before the next selection");
        assertEquals(0, selector.selectNow(), "a cancelled key is not selected");
        assertFalse(selector.keys().contains(k), "gone from the key set");
        assertFalse(selector.selectedKeys().contains(k), "gone from the selected-key set");
        assertFalse(p[0].isRegistered(), "the channel is deregistered");
        assertNull(p[0].keyFor(selector));
        SelectionKey again = p[0].register(selector, OP_WRITE);
        assertTrue(again != k && again.isValid(), "re-registering makes a new key");
        assertEquals(1, selector.selectNow());
    }

    /** CancelDuringRegister: registering again before the cancelled key is flushed throws CancelledKeyException. */
    @Test
    void reRegisteringACancelledKeyBeforeSelectingThrows() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_READ);
        k.cancel();
        assertThrows(CancelledKeyException.class, () -> p[0].register(selector, OP_WRITE));
        selector.selectNow();
        assertTrue(p[0].register(selector, OP_WRITE).isValid());
    }

    /** KeyCancelled: a cancelled key refuses its operations and keeps its identity. */
    @Test
    void cancelledKeyRefusesOperations() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_READ, "att");
        k.cancel();
        k.cancel(); // idempotent
        assertThrows(CancelledKeyException.class, k::interestOps);
        assertThrows(CancelledKeyException.class, () -> k.interestOps(OP_WRITE));
        assertThrows(CancelledKeyException.class, () -> k.interestOpsOr(OP_WRITE));
        assertThrows(CancelledKeyException.class, () -> k.interestOpsAnd(0));
        assertThrows(CancelledKeyException.class, k::readyOps);
        assertSame(p[0], k.channel());
        assertSame(selector, k.selector());
        assertEquals("att", k.attachment());
    }

    /** SelectAndCancel: a key cancelled while a selection is blocked is flushed when it returns. */
    @Test
    void cancelDuringSelect() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_READ);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> selector.select(), failure);
        awaitBlockedInSelect(t);
        k.cancel();
        selector.wakeup();
        assertEnds(t, "select after cancel and wakeup");
        assertNoFailure(failure);
        assertFalse(selector.keys().contains(k), "the selection that was in progress flushed the cancelled key");
        assertFalse(p[0].isRegistered());
    }

    // ------------------------------------------------------------------ closing channels, fd reuse

    /** A registered channel that is closed has its key cancelled and then deregistered. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void closingARegisteredChannelCancelsItsKey(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        write(p[1], "x");
        p[0].close();
        assertFalse(k.isValid(), "closing the channel cancels its key");
        assertEquals(0, selector.selectNow(), "a closed channel is not selected");
        assertFalse(selector.keys().contains(k));
        assertFalse(p[0].isRegistered());
    }

    /**
     * A channel closed while a selection is blocked: the selection does not fail, and its key is
     * gone after the next one.
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void closingAChannelDuringSelect(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger count = new AtomicInteger(-1);
        Thread t = start("selecting", () -> count.set(selector.select(SHORT_MS * 3)), failure);
        awaitBlockedInSelect(t);
        p[0].close();
        selector.wakeup();
        assertEnds(t, "select after a channel closed and a wakeup");
        assertNoFailure(failure);
        assertEquals(0, count.get(), "the closed channel was not selected");
        selector.selectNow();
        assertFalse(selector.keys().contains(k));
    }

    /**
     * fd reuse: a channel closed while registered (key not yet flushed), its fd number taken by a new
     * readable socket that this selector does not watch. The old key is never selected, and the
     * selection waits its whole timeout (no spin on a reused fd).
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void reusedFdIsNeverReportedThroughTheOldKey(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey old = p[0].register(selector, OP_READ);
        int fd = fdOf(p[0]);
        p[0].close();
        NativeSocketChannel[] reuse = pairOnFd(fd);
        write(reuse[1], "for the new socket");
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "select with a stranger on the old key's fd");
        assertFalse(selector.selectedKeys().contains(old));
        assertEquals(18, readNow(reuse[0]), "the new socket's data is still there, unread by anyone else");
    }

    /**
     * fd reuse during a selection: the channel is closed while a selection is blocked, and its fd
     * number is taken at once by a readable socket this selector does not watch. poll(2) and
     * select(2) watch numbers, not files, so their wait sees the stranger's data; the old key must
     * not be selected for it, and the selection goes on waiting for its timeout.
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void reusedFdDuringSelectIsNeverReportedThroughTheOldKey(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey old = p[0].register(selector, OP_READ);
        SelectionKey other = pair(kind)[0].register(selector, 0);
        int fd = fdOf(p[0]);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger count = new AtomicInteger(-1);
        long timeout = SHORT_MS * 3;
        Thread t = start("selecting", () -> count.set(selector.select(timeout)), failure);
        awaitBlockedInSelect(t);
        p[0].close();
        NativeSocketChannel[] reuse = pairOnFd(fd);
        write(reuse[1], "for the new socket");
        // A selector that rebuilds its kernel sets when an interest set changes (poll, select) now
        // asks the kernel again, about the number that names the stranger.
        other.interestOps(OP_READ);
        assertEnds(t, "select with a stranger on the old key's fd");
        assertNoFailure(failure);
        assertEquals(0, count.get(), "select counted the old key");
        assertFalse(selector.selectedKeys().contains(old), "the old key was selected for the new socket's data");
        assertEquals(18, readNow(reuse[0]), "the new socket's data is still there");
    }

    /**
     * The window every jnr channel has: its close releases the fd first and cancels its keys after
     * (the JDK's AbstractSelectableChannel does it in that order). Here the close is held inside
     * that window while the fd number is reused by a readable stranger and a blocked selection asks
     * the kernel again: the key, still valid, must not be selected for the stranger's data.
     */
    @Test
    void reusedFdBeforeTheKeyIsCancelledIsNeverReported() throws Exception {
        NativeSocketChannel[] sp = NativeSockets.socketPair();
        closeLater(sp[1]);
        POSIX posix = POSIXFactory.getNativePOSIX();
        int dupFd = posix.dup(sp[0].getFD());
        sp[0].close();
        CountDownLatch fdClosed = new CountDownLatch(1);
        CountDownLatch finishClose = new CountDownLatch(1);
        NativeSocketChannel slow = new NativeSocketChannel(dupFd) {
            @Override
            protected void implCloseSelectableChannel() throws IOException {
                super.implCloseSelectableChannel(); // the fd is closed here, the key still valid
                fdClosed.countDown();
                try {
                    finishClose.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        slow.configureBlocking(false);
        SelectionKey old = slow.register(selector, OP_READ);
        SelectionKey other = pair(ChannelKind.TCP)[0].register(selector, 0);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger count = new AtomicInteger(-1);
        Thread t = start("selecting", () -> count.set(selector.select(SHORT_MS * 3)), failure);
        awaitBlockedInSelect(t);
        Thread closer = start("closing", slow::close, failure);
        try {
            assertTrue(fdClosed.await(eventually().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
            assertTrue(old.isValid(), "inside the window the key is still valid");
            NativeSocketChannel[] reuse = pairOnFd(dupFd);
            write(reuse[1], "for the new socket");
            other.interestOps(OP_READ); // poll and select rebuild their sets: the stranger is asked about
            assertEnds(t, "select with a stranger on a closing channel's fd");
            assertNoFailure(failure);
            assertEquals(0, count.get(), "select counted the closing channel's key");
            assertFalse(selector.selectedKeys().contains(old), "the key was selected for the stranger's data");
            assertEquals(18, readNow(reuse[0]), "the new socket's data is still there");
        } finally {
            finishClose.countDown();
        }
        assertEnds(closer, "the close");
        assertFalse(old.isValid());
        selector.selectNow();
        assertFalse(selector.keys().contains(old));
    }

    /**
     * A wakeup made before a selection, whose wait then finds only a dead key's event beside the
     * wakeup (a channel inside its close window: fd closed, key still valid; poll and select report
     * the closed fd): the selection returns for the wakeup, it does not wait again.
     */
    @Test
    void aWakeupBeforeSelectIsKeptWhenOnlyADeadKeysEventComesWithIt() throws Exception {
        NativeSocketChannel[] sp = NativeSockets.socketPair();
        closeLater(sp[1]);
        int dupFd = POSIXFactory.getNativePOSIX().dup(sp[0].getFD());
        sp[0].close();
        CountDownLatch fdClosed = new CountDownLatch(1);
        CountDownLatch finishClose = new CountDownLatch(1);
        NativeSocketChannel slow = new NativeSocketChannel(dupFd) {
            @Override
            protected void implCloseSelectableChannel() throws IOException {
                super.implCloseSelectableChannel();
                fdClosed.countDown();
                try {
                    finishClose.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        slow.configureBlocking(false);
        slow.register(selector, OP_READ);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread closer = start("closing", slow::close, failure);
        try {
            assertTrue(fdClosed.await(eventually().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
            selector.wakeup();
            assertEquals(0, bounded(() -> selector.select(), "select after a wakeup, beside a dead key's event"));
        } finally {
            finishClose.countDown();
        }
        assertEnds(closer, "the close");
        assertNoFailure(failure);
    }

    /**
     * fd reuse, registered: the new channel on the old fd number is registered with the same
     * selector before the old key was flushed. Only the new key is ever selected.
     */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void reusedFdRegisteredAgainIsReportedOnlyThroughTheNewKey(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey old = p[0].register(selector, OP_READ);
        int fd = fdOf(p[0]);
        p[0].close();
        NativeSocketChannel[] reuse = pairOnFd(fd);
        reuse[0].configureBlocking(false);
        SelectionKey fresh = reuse[0].register(selector, OP_READ);
        write(reuse[1], "x");
        awaitSelected(fresh, OP_READ);
        assertFalse(selector.selectedKeys().contains(old), "the old key is not selected");
        assertEquals(Set.of(fresh), selector.selectedKeys());
        assertFalse(selector.keys().contains(old), "the old key was flushed");
        assertTrue(fresh.isValid());
        // The old key's flush left the new registration alone.
        selector.selectedKeys().clear();
        awaitSelected(fresh, OP_READ);
    }

    /**
     * A new connected pair whose element [0] has the fd number {@code fd}, which must be free (just
     * closed): the lowest free number is handed out, and if something else took it the socket is
     * moved there with dup2, so reuse is tested every time.
     */
    protected NativeSocketChannel[] pairOnFd(int fd) throws IOException {
        NativeSocketChannel[] p = NativeSockets.socketPair();
        closeLater(p[0]);
        closeLater(p[1]);
        if (p[0].getFD() == fd) {
            return p;
        }
        if (p[1].getFD() == fd) {
            return new NativeSocketChannel[] {p[1], p[0]};
        }
        POSIX posix = POSIXFactory.getNativePOSIX();
        assertEquals(fd, posix.dup2(p[0].getFD(), fd), "dup2 onto fd " + fd);
        NativeSocketChannel moved = closeLater(new NativeSocketChannel(fd));
        p[0].close();
        return new NativeSocketChannel[] {moved, p[1]};
    }

    // ------------------------------------------------------------------ wakeup

    /** Wakeup before a selection: that selection returns at once; the next one blocks as usual. */
    @Test
    void wakeupBeforeSelect() throws Exception {
        selector.wakeup();
        long start = System.nanoTime();
        assertEquals(0, selector.select(eventually().toMillis()));
        assertTrue(millisSince(start) < eventually().toMillis(), "the woken select returned");
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "the select after the woken one");
    }

    /** Wakeup during a selection: it returns promptly. */
    @Test
    void wakeupDuringSelect() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> selector.select(), failure);
        awaitBlockedInSelect(t);
        assertSame(selector, selector.wakeup());
        assertEnds(t, "select after wakeup");
        assertNoFailure(failure);
    }

    /** Wakeup: many wakeups between two selections cost one. */
    @Test
    void wakeupsCoalesce() throws Exception {
        for (int i = 0; i < 10; i++) {
            selector.wakeup();
        }
        assertEquals(0, bounded(() -> selector.select(), "select after ten wakeups"));
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "the select after ten wakeups and one select");
    }

    /** WakeupNow: selectNow clears a pending wakeup. */
    @Test
    void selectNowClearsAWakeup() throws Exception {
        selector.wakeup();
        assertEquals(0, selector.selectNow());
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "select after wakeup and selectNow");
    }

    /** Wakeup after a selection returned for an event belongs to the next one. */
    @Test
    void wakeupAfterSelectWakesTheNext() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        p[0].register(selector, OP_WRITE);
        assertEquals(1, bounded(() -> selector.select(), "select with a writable key"));
        selector.wakeup();
        p[0].keyFor(selector).interestOps(0);
        assertEquals(0, bounded(() -> selector.select(), "select after a wakeup"), "returned for the wakeup");
    }

    /**
     * WakeupAfterClose: wakeup after close does nothing and throws nothing, and writes nothing into
     * whatever took the fd numbers the selector had.
     */
    @Test
    void wakeupAfterCloseIsHarmless() throws Exception {
        selector.close();
        List<NativeSocketChannel[]> pairs = new ArrayList<>();
        for (int i = 0; i < 4; i++) { // likely on the selector's old fd numbers
            NativeSocketChannel[] p = NativeSockets.socketPair();
            closeLater(p[0]);
            closeLater(p[1]);
            pairs.add(p);
        }
        assertSame(selector, selector.wakeup());
        for (NativeSocketChannel[] p : pairs) {
            for (NativeSocketChannel end : p) {
                assertEquals(-1, NativeSockets.peek(end.getFD()), "fd " + end.getFD() + " got a stray byte");
            }
        }
    }

    // ------------------------------------------------------------------ close

    /** SelectAndClose: close wakes a blocked selection, which returns normally. */
    @Test
    void closeWakesABlockedSelect() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger count = new AtomicInteger(-1);
        Thread t = start("selecting", () -> count.set(selector.select()), failure);
        awaitBlockedInSelect(t);
        Thread closer = start("closing", () -> selector.close(), failure);
        assertEnds(t, "select after close");
        assertEnds(closer, "close");
        assertNoFailure(failure);
        assertEquals(0, count.get());
        assertFalse(selector.isOpen());
    }

    /** CloseInvalidatesKeys: close cancels and deregisters every key. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void closeDeregistersEveryKey(ChannelKind kind) throws Exception {
        List<AbstractSelectableChannel> channels = new ArrayList<>();
        List<SelectionKey> keys = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            AbstractSelectableChannel ch = pair(kind)[0];
            channels.add(ch);
            keys.add(ch.register(selector, OP_READ | OP_WRITE));
        }
        assertEquals(3, selector.selectNow());
        selector.close();
        for (int i = 0; i < 3; i++) {
            assertFalse(keys.get(i).isValid(), "key " + i + " invalid");
            assertFalse(channels.get(i).isRegistered(), "channel " + i + " deregistered");
            assertNull(channels.get(i).keyFor(selector));
            assertTrue(channels.get(i).isOpen(), "closing a selector leaves its channels open");
        }
        // The channels can go on to another selector.
        try (Selector other = openSelector()) {
            channels.get(0).register(other, OP_WRITE);
            assertEquals(1, other.selectNow());
        }
    }

    /** CloseThenRegister and the rest: a closed selector refuses every operation but a few. */
    @Test
    void closedSelectorRefusesOperations() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        selector.close();
        assertFalse(selector.isOpen());
        selector.close(); // idempotent
        assertThrows(ClosedSelectorException.class, () -> selector.select());
        assertThrows(ClosedSelectorException.class, () -> selector.select(1));
        assertThrows(ClosedSelectorException.class, () -> selector.selectNow());
        assertThrows(ClosedSelectorException.class, () -> selector.select(k -> { }));
        assertThrows(ClosedSelectorException.class, () -> selector.select(k -> { }, 1));
        assertThrows(ClosedSelectorException.class, () -> selector.selectNow(k -> { }));
        assertThrows(ClosedSelectorException.class, () -> selector.keys());
        assertThrows(ClosedSelectorException.class, () -> selector.selectedKeys());
        assertThrows(ClosedSelectorException.class, () -> p[0].register(selector, OP_READ));
        assertFalse(p[0].isRegistered());
        assertSame(selector, selector.wakeup());
    }

    // ------------------------------------------------------------------ interrupts and timeouts

    /** LotsOfInterrupts: an interrupted selecting thread returns at once and keeps its status. */
    @Test
    void interruptEndsASelectAndStaysSet() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread t = start("selecting", () -> {
            selector.select();
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        }, failure);
        awaitBlockedInSelect(t);
        t.interrupt();
        assertEnds(t, "select after interrupt");
        assertNoFailure(failure);
        assertTrue(stillInterrupted.get(), "the interrupt status is kept");
        assertTrue(selector.isOpen(), "an interrupt does not close a selector");
    }

    /** A thread already interrupted does not block in select; later selections, once cleared, do. */
    @Test
    void alreadyInterruptedDoesNotBlock() throws Exception {
        AtomicBoolean kept = new AtomicBoolean();
        assertEquals(0, bounded(() -> {
            Thread.currentThread().interrupt();
            int n = selector.select();
            kept.set(Thread.currentThread().isInterrupted());
            return n;
        }, "select on an interrupted thread"));
        assertTrue(kept.get(), "interrupt status kept");
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "select once the interrupt is cleared");
    }

    /** SelectTimeout: a timeout is waited in full, never cut short; a negative one is refused. */
    @Test
    void timeoutsAreKept() throws Exception {
        assertWaitsFull(SHORT_MS, () -> selector.select(SHORT_MS), "select(timeout) with nothing registered");
        assertThrows(IllegalArgumentException.class, () -> bounded(() -> selector.select(-1), "select(-1)"));
        assertThrows(IllegalArgumentException.class, () -> bounded(() -> selector.select(k -> { }, -1), "select(action, -1)"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> selector.select(Long.MAX_VALUE), failure);
        awaitBlockedInSelect(t);
        selector.wakeup();
        assertEnds(t, "select(Long.MAX_VALUE) after wakeup");
        assertNoFailure(failure);
    }

    // ------------------------------------------------------------------ the Consumer forms

    /** SelectWithConsumer: the action gets each ready key with its ready set; the selected-key set is untouched. */
    @ParameterizedTest
    @EnumSource(ChannelKind.class)
    void actionGetsReadyKeys(ChannelKind kind) throws Exception {
        AbstractSelectableChannel[] p = pair(kind);
        SelectionKey k = p[0].register(selector, OP_READ);
        write(p[1], "x");
        List<SelectionKey> seen = new ArrayList<>();
        List<Integer> ready = new ArrayList<>();
        long deadline = System.nanoTime() + eventually().toNanos();
        int n = 0;
        while (n == 0 && System.nanoTime() < deadline) {
            n = selector.select(key -> {
                seen.add(key);
                ready.add(key.readyOps());
            }, 100);
        }
        assertEquals(1, n, "the number of keys consumed");
        assertEquals(List.of(k), seen);
        assertEquals(List.of(OP_READ), ready);
        assertTrue(selector.selectedKeys().isEmpty(), "the Consumer forms do not add to the selected-key set");
    }

    /** SelectWithConsumer: the action sees exactly what is ready now, never a ready set accumulated before. */
    @Test
    void actionSeesAReadySetReplacedNotAccumulated() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_READ | OP_WRITE);
        write(p[1], "x");
        awaitSelected(k, OP_READ | OP_WRITE);
        assertEquals(1, readNow(p[0]));
        AtomicInteger ready = new AtomicInteger();
        assertEquals(1, selector.selectNow(key -> ready.set(key.readyOps())));
        assertEquals(OP_WRITE, ready.get(), "only what is ready now");
    }

    /** SelectWithConsumer: the action may cancel keys and close channels; closing the selector throws. */
    @Test
    void actionMayCancelCloseAndCloseTheSelector() throws Exception {
        AbstractSelectableChannel[] a = pair(ChannelKind.TCP);
        AbstractSelectableChannel[] b = pair(ChannelKind.TCP);
        SelectionKey ka = a[0].register(selector, OP_WRITE);
        b[0].register(selector, OP_WRITE);
        assertEquals(2, selector.selectNow(key -> {
            if (key == ka) {
                key.cancel();
            } else {
                try {
                    key.channel().close();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        }));
        assertEquals(0, selector.selectNow());
        assertTrue(selector.keys().isEmpty(), "both keys flushed");
        AbstractSelectableChannel[] c = pair(ChannelKind.TCP);
        c[0].register(selector, OP_WRITE);
        assertThrows(ClosedSelectorException.class, () -> selector.selectNow(key -> {
            try {
                selector.close();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }), "closing the selector from the action");
        assertFalse(selector.isOpen());
        assertFalse(c[0].isRegistered());
    }

    /** SelectWithConsumer: an exception from the action reaches the caller; the selector goes on. */
    @Test
    void actionExceptionsReachTheCaller() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_WRITE);
        RuntimeException boom = new RuntimeException("boom");
        assertSame(boom, assertThrows(RuntimeException.class, () -> selector.selectNow(key -> {
            throw boom;
        })));
        assertThrows(NullPointerException.class, () -> selector.selectNow((Consumer<SelectionKey>) null));
        assertThrows(NullPointerException.class, () -> selector.select((Consumer<SelectionKey>) null));
        assertThrows(NullPointerException.class, () -> selector.select(null, 1));
        assertEquals(1, selector.selectNow(key -> assertSame(k, key)), "the selector still works");
    }

    /** SelectWithConsumer: the blocking Consumer forms wait, wake up and time out like select. */
    @Test
    void actionFormsBlockWakeAndTimeOut() throws Exception {
        Consumer<SelectionKey> none = key -> {
            throw new AssertionError("no key is ready: " + key);
        };
        assertWaitsFull(SHORT_MS, () -> selector.select(none, SHORT_MS), "select(action, timeout)");
        selector.wakeup();
        assertEquals(0, bounded(() -> selector.select(none), "select(action) after wakeup"));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> selector.select(none), failure);
        awaitBlockedInSelect(t);
        selector.wakeup();
        assertEnds(t, "select(action) after wakeup");
        assertNoFailure(failure);
    }

    // ------------------------------------------------------------------ races

    /**
     * RacyDeregister: keys cancelled and channels re-registered in one thread, interest sets toggled
     * in another, while a third selects: no exception but CancelledKeyException from a key cancelled
     * under the toggling thread, and every selection returns.
     */
    @Test
    void racyDeregistration() throws Exception {
        AbstractSelectableChannel[][] pairs = new AbstractSelectableChannel[4][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair(ChannelKind.TCP);
            write(pairs[i][1], "x");
            pairs[i][0].register(selector, OP_READ);
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread selecting = start("selecting", () -> {
            while (!stop.get()) {
                selector.select(k -> { }, 50);
            }
        }, failure);
        Thread toggling = start("toggling", () -> {
            while (!stop.get()) {
                for (AbstractSelectableChannel[] p : pairs) {
                    SelectionKey k = p[0].keyFor(selector);
                    try {
                        if (k != null) {
                            k.interestOps(k.interestOps() == 0 ? OP_READ | OP_WRITE : 0);
                        }
                    } catch (CancelledKeyException e) {
                        // cancelled by the other thread meanwhile
                    }
                }
            }
        }, failure);
        long end = System.nanoTime() + 500_000_000L;
        while (System.nanoTime() < end && failure.get() == null) {
            for (AbstractSelectableChannel[] p : pairs) {
                SelectionKey k = p[0].keyFor(selector);
                if (k != null) {
                    k.cancel();
                }
                try {
                    p[0].register(selector, OP_READ);
                } catch (CancelledKeyException e) {
                    // not flushed yet: the next round registers it
                }
            }
        }
        stop.set(true);
        selector.wakeup();
        assertEnds(selecting, "the selecting thread");
        assertEnds(toggling, "the toggling thread");
        assertNoFailure(failure);
        // Everything still works: each channel ends up registered once, and selected.
        selector.selectNow();
        for (AbstractSelectableChannel[] p : pairs) {
            p[0].register(selector, OP_READ);
        }
        selector.selectedKeys().clear();
        selector.selectNow();
        assertEquals(pairs.length, selector.selectedKeys().size());
    }

    /**
     * RaceUpdatesAndClose, and close racing every other operation: threads select, register, change
     * interest sets and wake up while the selector is closed. Each gets its result or the documented
     * exception (ClosedSelectorException, CancelledKeyException), nothing blocks, and afterwards
     * every key is invalid and every channel deregistered.
     */
    @Test
    void closeRacesEveryOperation() throws Exception {
        for (int round = 0; round < 20; round++) {
            Selector sel = closeLater(openSelector());
            AbstractSelectableChannel[][] pairs = new AbstractSelectableChannel[3][];
            for (int i = 0; i < pairs.length; i++) {
                pairs[i] = pair(ChannelKind.TCP);
                pairs[i][0].register(sel, OP_READ);
            }
            AbstractSelectableChannel late = pair(ChannelKind.TCP)[0];
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            threads.add(start("select", () -> {
                go.await();
                expectClosedOrOk(() -> sel.select());
            }, failure));
            threads.add(start("register", () -> {
                go.await();
                expectClosedOrOk(() -> late.register(sel, OP_READ));
            }, failure));
            threads.add(start("interest", () -> {
                go.await();
                for (int i = 0; i < 100; i++) {
                    for (AbstractSelectableChannel[] p : pairs) {
                        SelectionKey k = p[0].keyFor(sel);
                        try {
                            if (k != null) {
                                k.interestOps(i % 2 == 0 ? OP_WRITE : OP_READ);
                            }
                        } catch (CancelledKeyException e) {
                            // the close got there first
                        }
                    }
                }
            }, failure));
            threads.add(start("wakeup", () -> {
                go.await();
                for (int i = 0; i < 100; i++) {
                    sel.wakeup();
                }
            }, failure));
            threads.add(start("close", () -> {
                go.await();
                sel.close();
            }, failure));
            go.countDown();
            for (Thread t : threads) {
                if (t.getName().equals("select")) {
                    continue;
                }
                assertEnds(t, "round " + round + ": " + t.getName());
            }
            assertEnds(threads.get(0), "round " + round + ": the select");
            assertNoFailure(failure);
            assertFalse(sel.isOpen());
            for (AbstractSelectableChannel[] p : pairs) {
                assertFalse(p[0].isRegistered(), "round " + round + ": a channel still registered after close");
            }
            SelectionKey k = late.keyFor(sel);
            assertTrue(k == null || !k.isValid(), "round " + round + ": a key registered during close is valid: " + k);
        }
    }

    private static void expectClosedOrOk(ThrowingRunnable body) throws Exception {
        try {
            body.run();
        } catch (ClosedSelectorException e) {
            // the close got there first
        }
    }

    // ------------------------------------------------------------------ adversarial

    /**
     * A key cancelled by another thread while a selection is blocked, whose channel then becomes
     * readable: it is not selected, and the selection is not cut short for it (it waits its timeout).
     */
    @Test
    void keyCancelledDuringABlockedSelectIsNotSelected() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_READ);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger count = new AtomicInteger(-1);
        AtomicLong waited = new AtomicLong();
        long timeout = SHORT_MS * 2;
        Thread t = start("selecting", () -> {
            long start = System.nanoTime();
            count.set(selector.select(timeout));
            waited.set(System.nanoTime() - start);
        }, failure);
        awaitBlockedInSelect(t);
        k.cancel();
        write(p[1], "x");
        assertEnds(t, "select");
        assertNoFailure(failure);
        assertEquals(0, count.get(), "the cancelled key was counted");
        assertFalse(selector.selectedKeys().contains(k));
        assertTrue(waited.get() >= timeout * 1_000_000L, "the select returned after " + waited.get() / 1_000_000
                + " ms, before its " + timeout + " ms timeout, for a cancelled key's event");
        assertFalse(selector.keys().contains(k), "flushed by that selection");
    }

    /**
     * A key's monitor belongs to its users (the JDK's default interestOpsOr synchronizes on it): a
     * thread that holds it while it cancels the key, makes its channel ready and closes the selector
     * must not deadlock with a selection that meets the key's event meanwhile.
     */
    @Test
    void aUserHoldingAKeysMonitorDoesNotBlockTheSelection() throws Exception {
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        SelectionKey k = p[0].register(selector, OP_READ);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> {
            while (selector.isOpen()) {
                try {
                    selector.select(50);
                } catch (ClosedSelectorException e) {
                    return;
                }
            }
        }, failure);
        awaitBlockedInSelect(t);
        Thread user = start("user", () -> {
            synchronized (k) {
                k.cancel();
                write(p[1], "x");
                Thread.sleep(SHORT_MS); // the selection meets the event while this thread holds the key
                selector.close();
            }
        }, failure);
        assertEnds(user, "a thread holding the key's monitor, closing the selector");
        assertEnds(t, "the selecting thread");
        assertNoFailure(failure);
    }

    /** Every wakeup ends the selection in progress or the next one: none is lost, over many rounds. */
    @Test
    void noWakeupIsLost() throws Exception {
        AtomicInteger returns = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> {
            while (!stop.get()) {
                selector.select();
                returns.incrementAndGet();
            }
        }, failure);
        for (int round = 0; round < 2000; round++) {
            int before = returns.get();
            selector.wakeup();
            long deadline = System.nanoTime() + eventually().toNanos();
            while (returns.get() == before) {
                assertTrue(System.nanoTime() < deadline, "round " + round + ": a wakeup was lost");
                assertNoFailure(failure);
                Thread.onSpinWait();
            }
        }
        stop.set(true);
        selector.wakeup();
        assertEnds(t, "the selecting thread");
        assertNoFailure(failure);
    }

    /** One channel registered with two selectors of the same kind: each reports it, each key its own. */
    @Test
    void oneChannelTwoSelectors() throws Exception {
        Selector other = closeLater(openSelector());
        AbstractSelectableChannel[] p = pair(ChannelKind.UNIX);
        SelectionKey k1 = p[0].register(selector, OP_READ);
        SelectionKey k2 = p[0].register(other, OP_WRITE);
        assertTrue(k1 != k2);
        write(p[1], "x");
        awaitSelected(k1, OP_READ);
        assertEquals(OP_READ, k1.readyOps());
        assertEquals(1, other.selectNow());
        assertEquals(OP_WRITE, k2.readyOps());
        k1.cancel();
        selector.selectNow();
        assertSame(k2, p[0].keyFor(other), "cancelling in one selector leaves the other's key");
        other.selectedKeys().clear();
        assertEquals(1, other.selectNow());
    }

    /**
     * fd churn under a selecting thread: another thread keeps opening connections, registering them
     * during the selection, writing a token unique to each, and closing some at once (their fd numbers
     * reused by the next). Every token read is read through its own connection's key, every open
     * connection's token is read, and no selection throws.
     */
    @Test
    void registrationsAndClosesChurnUnderASelectingThread() throws Exception {
        java.util.Map<SelectionKey, String> expected = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.Set<String> received = java.util.concurrent.ConcurrentHashMap.newKeySet();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = start("selecting", () -> {
            ByteBuffer buf = ByteBuffer.allocate(256);
            while (!stop.get()) {
                selector.select(k -> {
                    if (!k.isValid() || !k.channel().isOpen()) {
                        return;
                    }
                    buf.clear();
                    int n;
                    try {
                        n = ((java.nio.channels.ByteChannel) k.channel()).read(buf);
                    } catch (java.nio.channels.ClosedChannelException e) {
                        return; // closed by the churning thread since
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    if (n > 0) {
                        String got = new String(buf.array(), 0, n, java.nio.charset.StandardCharsets.US_ASCII);
                        String want = (String) k.attachment();
                        if (!got.equals(want)) {
                            throw new AssertionError("key for " + want + " read " + got);
                        }
                        received.add(got);
                        k.cancel();
                    }
                }, 50);
            }
        }, failure);
        List<AbstractSelectableChannel[]> open = new ArrayList<>();
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 300 && failure.get() == null; i++) {
            AbstractSelectableChannel[] p = socketPair();
            String token = "token-" + i;
            SelectionKey k = p[0].register(selector, OP_READ, token);
            write(p[1], token);
            if (random.nextInt(3) == 0) {
                p[0].close(); // its fd number goes to the next connection
                p[1].close();
            } else {
                expected.put(k, token);
                open.add(p);
            }
        }
        long deadline = System.nanoTime() + eventually().toNanos();
        while (!received.containsAll(expected.values()) && System.nanoTime() < deadline && failure.get() == null) {
            Thread.sleep(5);
        }
        stop.set(true);
        selector.wakeup();
        assertEnds(t, "the selecting thread");
        assertNoFailure(failure);
        java.util.Set<String> missing = new java.util.TreeSet<>(expected.values());
        missing.removeAll(received);
        assertEquals(java.util.Set.of(), missing, "open connections whose token never came through their key");
        // A connection closed right after its write may have been read before its close: that is no
        // mixup (each read is checked against its own key's token above).
    }

    /** A socketpair of jnr-enxio channels, non-blocking, closed after the test. */
    private AbstractSelectableChannel[] socketPair() throws IOException {
        NativeSocketChannel[] p = NativeSockets.socketPair();
        closeLater(p[0]);
        closeLater(p[1]);
        p[0].configureBlocking(false);
        return p;
    }

    /**
     * A change the kernel refuses (registering an fd that is not open) cannot be thrown by {@code
     * register}: the next selection throws it, naming the call, the fd and the errno, once; the
     * selector goes on working.
     */
    @Test
    void aRefusedRegistrationIsThrownByTheNextSelectOnce() throws Exception {
        int fd = 1000;
        Set<Integer> open = io.polyplex.conformance.ContractBase.fdNumbers();
        while (open.contains(fd)) {
            fd--;
        }
        NativeSocketChannel notOpen = new NativeSocketChannel(fd); // never closed: its number is not ours
        notOpen.configureBlocking(false);
        SelectionKey k = notOpen.register(selector, OP_READ);
        assertTrue(k.isValid());
        int badFd = fd;
        IOException e = assertThrows(IOException.class, () -> bounded(() -> selector.selectNow(), "selectNow"));
        assertTrue(e.getMessage().contains("fd=" + badFd) && e.getMessage().contains("EBADF"), e.getMessage());
        AbstractSelectableChannel[] p = pair(ChannelKind.TCP);
        p[0].register(selector, OP_WRITE);
        assertEquals(1, selector.selectNow(), "the selector still works, and the failure was thrown once");
        k.cancel();
    }

    // ------------------------------------------------------------------ allocation

    /** Selections that find the same keys ready allocate nothing in steady state (Consumer form and the set form). */
    @Test
    void selectionsAllocateNothingInSteadyState() throws Exception {
        Assumptions.assumeFalse(kernelIsJavaCode(), "the emulated kernel is Java test code that allocates");
        AbstractSelectableChannel[][] pairs = new AbstractSelectableChannel[20][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair(ChannelKind.TCP);
            pairs[i][0].register(selector, OP_WRITE);
        }
        AtomicLong sink = new AtomicLong();
        Consumer<SelectionKey> action = k -> sink.addAndGet(k.readyOps());
        SelectCall round = () -> {
            int n = selector.selectNow(action);
            n += selector.selectNow();
            selector.selectedKeys().clear();
            return n;
        };
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);
        for (int i = 0; i < 20_000; i++) {
            round.call();
        }
        long tid = Thread.currentThread().getId();
        int rounds = 2_000;
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < rounds; i++) {
            assertEquals(40, round.call());
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        // 4,000 selections of 20 keys each: a node per selected key would be over 2 MB. Allow JIT noise.
        assertTrue(allocated < 64 * 1024, allocated + " bytes allocated by " + 2 * rounds + " selections");
    }
}
