package io.polyplex.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.SocketEvent;
import io.polyplex.conformance.Faults;
import io.polyplex.internal.LibC;
import io.polyplex.internal.OsConstants;
import io.polyplex.internal.PollerEventQueue;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What core's peer-closed probe costs on the select backend, counted in system calls through the
 * bindings (core's LibC and select's own, each wrapped by its own {@link Faults} recorder): where
 * poll(2) has POLLRDHUP, one wait with many readable sockets makes one select(2), one poll(2) and no
 * recv; a recv only for each socket that poll flags as shut down or in error, so that what is
 * reported is exactly what the per-event probe reports (PEER_CLOSED only once the data before the
 * close is read, a reset as PEER_CLOSED|ERROR). Forced onto the per-event probe (as on a system
 * without POLLRDHUP), the same wait makes one recv per readable event and no poll.
 */
@Timeout(60)
class SelectPeerProbeTest {

    private static final SelectLibrary REAL = LibraryLoader.create(SelectLibrary.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    /** Sockets that are readable in every wait below, and as many that stay quiet. */
    private static final int READABLE = 10;

    private final Faults libcCalls = new Faults();
    private final Faults selectCalls = new Faults();
    private final Deque<AutoCloseable> toClose = new ArrayDeque<>();
    private PollerEventQueue<NativeSocketChannel> queue;
    /** Run on the polling thread right after each select(2) returns, before core sees its answer. */
    private volatile Runnable afterSelect;

    @AfterEach
    void closeEverything() throws Exception {
        while (!toClose.isEmpty()) {
            toClose.pop().close();
        }
    }

    private void open(int pollRdhup) throws IOException {
        open(pollRdhup, 64);
    }

    private void open(int pollRdhup, int maxEvents) throws IOException {
        LibC libc = libcCalls.wrap(LibC.class, LibC.INSTANCE, LibC.RUNTIME);
        SelectLibrary counted = selectCalls.wrap(SelectLibrary.class, REAL, Runtime.getRuntime(REAL));
        SelectLibrary select = (SelectLibrary) java.lang.reflect.Proxy.newProxyInstance(SelectLibrary.class.getClassLoader(),
                new Class<?>[] {SelectLibrary.class, jnr.ffi.provider.LoadedLibrary.class}, (proxy, method, args) -> {
                    Object result;
                    try {
                        result = method.invoke(counted, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                    Runnable hook = afterSelect;
                    if (method.getName().equals("select") && hook != null) {
                        hook.run();
                    }
                    return result;
                });
        queue = new PollerEventQueue<>(new SelectProvider(select), NativeSelectableChannel::getFD, maxEvents, libc, pollRdhup);
        toClose.push(queue);
    }

    private NativeSocketChannel[] pair() throws IOException {
        NativeSocketChannel[] p = NativeSockets.socketPair();
        toClose.push(p[0]);
        toClose.push(p[1]);
        return p;
    }

    /** A connected TCP pair over 127.0.0.1: [0] ours (accepted), [1] the peer. */
    private NativeSocketChannel[] tcpPair() throws IOException {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8)) {
            NativeSocketChannel client = NativeSockets.connect(((InetSocketAddress) NativeSockets.localAddress(server.getFD())));
            toClose.push(client);
            NativeSocketChannel accepted = null;
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (accepted == null && System.nanoTime() < deadline) {
                accepted = NativeSockets.accept(server);
            }
            assertTrue(accepted != null, "accept after connect");
            toClose.push(accepted);
            return new NativeSocketChannel[] {accepted, client};
        }
    }

    private static void send(NativeSocketChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            assertTrue(ch.write(b) > 0, "send buffer unexpectedly full");
        }
    }

    /** What is there now: the text, "" if nothing, null at end of stream. */
    private static String readNow(NativeSocketChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096);
        int n = ch.read(b);
        return n < 0 ? null : new String(b.array(), 0, n, java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** One zero-timeout poll, counted: the events by socket. */
    private Map<NativeSocketChannel, Integer> countedPoll() throws IOException {
        libcCalls.reset();
        selectCalls.reset();
        Map<NativeSocketChannel, Integer> events = new HashMap<>();
        queue.poll(Duration.ZERO, (s, ops) -> events.merge(s, ops, (a, b) -> a | b));
        return events;
    }

    private static long count(Faults faults, String function) {
        return faults.calls().stream().filter(c -> c.function().equals(function)).count();
    }

    /** {@code READABLE} readable pairs and as many quiet ones, all watched for READ: [i] = {ours, peer}. */
    private NativeSocketChannel[][] watchedPairs() throws IOException {
        NativeSocketChannel[][] pairs = new NativeSocketChannel[2 * READABLE][];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = pair();
            queue.subscribeRead(pairs[i][0]);
            if (i < READABLE) {
                send(pairs[i][1], "x");
            }
        }
        return pairs;
    }

    @Test
    void theBatchedProbeMakesOnePollPerWaitAndNoRecvForHealthySockets() throws Exception {
        int pollRdhup = OsConstants.CURRENT.pollRdhup();
        Assumptions.assumeTrue(pollRdhup != 0, "poll(2) has no POLLRDHUP here: the per-event probe is the only one");
        open(pollRdhup);
        watchedPairs();
        for (int round = 0; round < 3; round++) {
            Map<NativeSocketChannel, Integer> events = countedPoll();
            assertEquals(READABLE, events.size(), "events: " + events);
            events.values().forEach(ops -> assertEquals(SocketEvent.READ, ops.intValue(), SocketEvent.opsToString(ops)));
            assertEquals(1, count(selectCalls, "select"), "select calls: " + selectCalls.calls());
            assertEquals(List.of(new Faults.Call("poll", 1)), libcCalls.calls(),
                    "one poll(2) for " + READABLE + " readable sockets, and no recv");
        }
    }

    /**
     * Batches larger than the probe's first pollfd array (64 entries): 200 readable sockets, more
     * than the array's doubling (128) holds, so its first growth must take the batch's size; then
     * 300, which the doubling (400) holds. Every seventeenth peer has closed with nothing unread,
     * so flagged sockets sit all through the batch, past the first 64 and 128 entries too. Each wait
     * makes one select(2), one poll(2) and a recv for each flagged socket only, and reports every
     * socket exactly: READ|PEER_CLOSED for the closed ones, READ for the others.
     */
    @Test
    void batchesBeyondThePollArraysFirstGrowthAreProbedExactly() throws Exception {
        int pollRdhup = OsConstants.CURRENT.pollRdhup();
        Assumptions.assumeTrue(pollRdhup != 0, "poll(2) has no POLLRDHUP here: the per-event probe is the only one");
        open(pollRdhup, 1024);
        List<NativeSocketChannel> ours = new java.util.ArrayList<>();
        java.util.Set<NativeSocketChannel> closedPeer = new java.util.HashSet<>();
        for (int size : new int[] {200, 300}) {
            while (ours.size() < size) {
                NativeSocketChannel[] p = pair();
                queue.subscribeRead(p[0]);
                if (ours.size() % 17 == 5) {
                    p[1].close();
                    closedPeer.add(p[0]);
                } else {
                    send(p[1], "x");
                }
                ours.add(p[0]);
            }
            Map<NativeSocketChannel, Integer> events = countedPoll();
            assertEquals(size, events.size(), size + " readable sockets, in one wait");
            List<String> wrong = new java.util.ArrayList<>();
            for (int i = 0; i < ours.size(); i++) {
                int expected = closedPeer.contains(ours.get(i)) ? SocketEvent.READ | SocketEvent.PEER_CLOSED : SocketEvent.READ;
                Integer got = events.get(ours.get(i));
                if (got == null || got != expected) {
                    wrong.add("socket " + i + ": " + (got == null ? "no event" : SocketEvent.opsToString(got)));
                }
            }
            assertEquals(List.of(), wrong, "batch of " + size);
            assertEquals(1, count(selectCalls, "select"), "select calls: " + selectCalls.calls());
            assertEquals(1, count(libcCalls, "poll"), "one poll(2) for a batch of " + size);
            assertEquals(closedPeer.size(), count(libcCalls, "recv"), "a recv for each flagged socket only, batch of " + size);
        }
    }

    /**
     * A batch in which no socket is flagged at all, so that the batched poll(2) answers 0 (here:
     * every readable socket's data was read by another thread between select's answer and the
     * probe): still no recv. Issue 23, bug 13: the batch was used only when poll found a flagged
     * socket ({@code > 0} for {@code >= 0}), and a quiet batch fell back to a recv per event, a
     * silent cost no benchmark gate sees.
     */
    @Test
    void theBatchedProbeMakesNoRecvWhenPollFlagsNothingAtAll() throws Exception {
        int pollRdhup = OsConstants.CURRENT.pollRdhup();
        Assumptions.assumeTrue(pollRdhup != 0, "poll(2) has no POLLRDHUP here: the per-event probe is the only one");
        open(pollRdhup);
        NativeSocketChannel[][] pairs = watchedPairs();
        afterSelect = () -> {
            for (int i = 0; i < READABLE; i++) {
                try {
                    assertEquals("x", readNow(pairs[i][0]), "the data select saw");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            afterSelect = null;
        };
        Map<NativeSocketChannel, Integer> events = countedPoll();
        assertEquals(READABLE, events.size(), "events: " + events);
        events.values().forEach(ops -> assertEquals(SocketEvent.READ, ops.intValue(), SocketEvent.opsToString(ops)));
        assertEquals(List.of(new Faults.Call("poll", 1)), libcCalls.calls(),
                "one poll(2), which flagged nothing, and no recv");
    }

    /**
     * Only readable events are probed: a batch of sockets watched for WRITE alone costs neither a
     * poll(2) nor a recv, batched or per event.
     */
    @Test
    void writeOnlyEventsAreNeverProbed() throws Exception {
        for (int pollRdhup : new int[] {OsConstants.CURRENT.pollRdhup(), 0}) {
            open(pollRdhup);
            for (int i = 0; i < READABLE; i++) {
                NativeSocketChannel[] p = pair();
                queue.subscribeWrite(p[0]);
                send(p[1], "x"); // readable too, but not watched for it
            }
            Map<NativeSocketChannel, Integer> events = countedPoll();
            assertEquals(READABLE, events.size(), "events: " + events);
            events.values().forEach(ops -> assertEquals(SocketEvent.WRITE, ops.intValue(), SocketEvent.opsToString(ops)));
            assertEquals(List.of(), libcCalls.calls(), "POLLRDHUP " + pollRdhup + ": a probe for write-only events");
            queue.close();
        }
    }

    /**
     * A full batch (as many probed events as the queue's batch holds, more than the first pollfd
     * array) grows the array once and is then polled again and again with one poll(2) each and
     * nothing allocated: the batched probe's promise on the hot path (PeerProbe's class comment).
     * Uses the real binding (the recording one allocates), and counts what this thread allocates.
     */
    @Test
    void aFullBatchGrowsThePollArrayOnceAndThenAllocatesNothing() throws Exception {
        int pollRdhup = OsConstants.CURRENT.pollRdhup();
        Assumptions.assumeTrue(pollRdhup != 0, "poll(2) has no POLLRDHUP here: the per-event probe is the only one");
        int batch = 100;
        PollerEventQueue<NativeSocketChannel> q = new PollerEventQueue<>(new SelectProvider(), NativeSelectableChannel::getFD,
                batch, LibC.INSTANCE, pollRdhup);
        toClose.push(q);
        for (int i = 0; i < batch; i++) {
            NativeSocketChannel[] p = pair();
            q.subscribeRead(p[0]);
            send(p[1], "x");
        }
        int[] seen = new int[2];
        io.polyplex.SocketEventHandler<NativeSocketChannel> handler = (s, ops) -> {
            seen[0]++;
            seen[1] |= ops;
        };
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean)
                java.lang.management.ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);
        for (int i = 0; i < 500; i++) { // warm up: the growth, and the JIT
            assertEquals(batch, q.poll(Duration.ZERO, handler));
        }
        long tid = Thread.currentThread().getId();
        long before = mx.getThreadAllocatedBytes(tid);
        seen[0] = 0;
        for (int i = 0; i < 1000; i++) {
            q.poll(Duration.ZERO, handler);
        }
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        assertEquals(1000 * batch, seen[0], "every socket in every full batch");
        assertEquals(SocketEvent.READ, seen[1], SocketEvent.opsToString(seen[1]));
        assertTrue(allocated < 64 * 1024, allocated + " bytes allocated by 1,000 full batches");
    }

    /**
     * The per-event probe's recv failing with an errno that says nothing about the peer (EAGAIN:
     * another thread read the data between select's answer and the probe) leaves a plain READ;
     * only the errors a socket keeps (ECONNRESET, ...) mean the peer is gone.
     */
    @Test
    void thePerEventProbeReportsAPlainReadWhenRecvFindsNothing() throws Exception {
        open(0);
        NativeSocketChannel[][] pairs = watchedPairs();
        afterSelect = () -> {
            for (int i = 0; i < READABLE; i++) {
                try {
                    assertEquals("x", readNow(pairs[i][0]), "the data select saw");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            afterSelect = null;
        };
        Map<NativeSocketChannel, Integer> events = countedPoll();
        assertEquals(READABLE, events.size(), "events: " + events);
        events.values().forEach(ops -> assertEquals(SocketEvent.READ, ops.intValue(), SocketEvent.opsToString(ops)));
        assertEquals(READABLE, count(libcCalls, "recv"), "libc calls: " + libcCalls.calls());
    }

    @Test
    void theBatchedProbeAsksRecvOnlyForFlaggedSocketsAndReportsWhatThePerEventProbeReports() throws Exception {
        int pollRdhup = OsConstants.CURRENT.pollRdhup();
        Assumptions.assumeTrue(pollRdhup != 0, "poll(2) has no POLLRDHUP here: the per-event probe is the only one");
        open(pollRdhup);
        assertFlaggedSocketsAreProbedExactly(true);
    }

    @Test
    void theForcedPerEventProbeMakesOneRecvPerReadableEventAndNoPoll() throws Exception {
        open(0);
        watchedPairs();
        Map<NativeSocketChannel, Integer> events = countedPoll();
        assertEquals(READABLE, events.size(), "events: " + events);
        events.values().forEach(ops -> assertEquals(SocketEvent.READ, ops.intValue(), SocketEvent.opsToString(ops)));
        assertEquals(1, count(selectCalls, "select"), "select calls: " + selectCalls.calls());
        assertEquals(READABLE, count(libcCalls, "recv"), "libc calls: " + libcCalls.calls());
        assertEquals(0, count(libcCalls, "poll"), "libc calls: " + libcCalls.calls());
    }

    @Test
    void theForcedPerEventProbeReportsTheSameAsTheBatchedOne() throws Exception {
        open(0);
        assertFlaggedSocketsAreProbedExactly(false);
    }

    /**
     * In one wait, with healthy readable sockets around them: a peer that closed after sending (the
     * data is still unread: plain READ), a peer that closed with nothing unread (READ|PEER_CLOSED),
     * a TCP peer that reset (READ|PEER_CLOSED|ERROR). Batched, only the two shut-down ones get a
     * recv: the reset one is in error (POLLERR) and is answered without one, so its error stays for
     * our own read (Linux's recv would clear it, MSG_PEEK or not). Per event, every readable one
     * gets a recv, and the reset one's error is read by it.
     */
    private void assertFlaggedSocketsAreProbedExactly(boolean batched) throws Exception {
        NativeSocketChannel[][] pairs = watchedPairs();
        NativeSocketChannel dataThenClose = pairs[0][0];
        pairs[0][1].close();
        NativeSocketChannel closeOnly = pairs[READABLE][0];
        pairs[READABLE][1].close();
        NativeSocketChannel[] tcp = tcpPair();
        queue.subscribeRead(tcp[0]);
        send(tcp[0], "provoke"); // unread data on the peer side makes its close a reset anyway
        NativeSockets.abort(tcp[1]);
        NativeSocketChannel reset = tcp[0];
        // The reset travels over loopback: wait (uncounted) until it has arrived.
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!readableNow(reset) && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }

        Map<NativeSocketChannel, Integer> events = countedPoll();
        assertEquals(READABLE + 2, events.size(), "events: " + events);
        assertEquals(SocketEvent.READ, events.get(dataThenClose).intValue(),
                "the probe cannot see past unread data: " + SocketEvent.opsToString(events.get(dataThenClose)));
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED, events.get(closeOnly).intValue(),
                SocketEvent.opsToString(events.get(closeOnly)));
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED | SocketEvent.ERROR, events.get(reset).intValue(),
                SocketEvent.opsToString(events.get(reset)));
        for (int i = 1; i < READABLE; i++) {
            assertEquals(SocketEvent.READ, events.get(pairs[i][0]).intValue(), SocketEvent.opsToString(events.get(pairs[i][0])));
        }
        assertEquals(1, count(selectCalls, "select"), "select calls: " + selectCalls.calls());
        if (batched) {
            assertEquals(1, count(libcCalls, "poll"), "libc calls: " + libcCalls.calls());
            assertEquals(2, count(libcCalls, "recv"),
                    "a recv for each socket flagged as shut down only, none for the one in error: " + libcCalls.calls());
        } else {
            assertEquals(0, count(libcCalls, "poll"), "libc calls: " + libcCalls.calls());
            assertEquals(READABLE + 2, count(libcCalls, "recv"), "libc calls: " + libcCalls.calls());
        }

        // Nothing was consumed: the data, then the end of stream. Batched, the reset's error is
        // still there for our read; per event (forced here on Linux, whose recv clears it even with
        // MSG_PEEK) the probe read it, so our read may see the end of stream.
        assertEquals("x", readNow(dataThenClose));
        assertNull(readNow(dataThenClose));
        assertNull(readNow(closeOnly));
        if (batched) {
            IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> readNow(reset),
                    "the reset's error was consumed by the probe");
            assertTrue(e.getMessage().contains("reset"), e.toString());
        } else {
            try {
                assertNull(readNow(reset), "after a reset a read sees an error or the end of stream");
            } catch (IOException expected) {
                // also fine
            }
        }
        // Now the data before the close is read: the next wait reports the close.
        Map<NativeSocketChannel, Integer> again = countedPoll();
        assertEquals(SocketEvent.READ | SocketEvent.PEER_CLOSED, again.get(dataThenClose).intValue(),
                SocketEvent.opsToString(again.get(dataThenClose)));
    }

    /** Whether {@code ch} is readable now: a poll(2) of it through the real LibC, not counted. */
    private static boolean readableNow(NativeSocketChannel ch) {
        jnr.ffi.Pointer pfd = jnr.ffi.Memory.allocateDirect(LibC.RUNTIME, 8, true);
        pfd.putInt(0, ch.getFD());
        pfd.putShort(4, (short) 0x1); // POLLIN
        return LibC.INSTANCE.poll(pfd, 1, 0) > 0;
    }
}
