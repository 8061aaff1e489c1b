package io.polyplex.poll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.conformance.FdLimit;
import io.polyplex.conformance.HighFd;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
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
 * What only the poll backend has: no descriptor limit, POLLNVAL for an fd closed under it, its
 * revents translation, event batching and millisecond timeouts. Real kernel, real sockets.
 */
@Timeout(120)
class PollBackendTest {

    /** A socket type that is not a Channel: core cannot tell it was closed, only the kernel can. */
    record RawFd(int fd) { }

    @Test
    void tenThousandDescriptorsWithOneReady() throws Exception {
        FdLimit.ensure(12_000);
        List<NativeSocketChannel> all = new ArrayList<>();
        try (EventQueue<NativeSelectableChannel> q = EventQueues.open("poll", NativeSelectableChannel::getFD)) {
            for (int i = 0; i < 5000; i++) {
                NativeSocketChannel[] p = NativeSockets.socketPair();
                all.add(p[0]);
                all.add(p[1]);
                q.subscribeRead(p[0]);
                q.subscribeRead(p[1]);
            }
            assertTrue(all.get(all.size() - 1).getFD() > 10_000, "fds above 10,000 are watched");
            NativeSocketChannel ready = all.get(7777);
            all.get(7776).write(ByteBuffer.wrap(new byte[] {1}));
            List<SocketEvent<NativeSelectableChannel>> events = q.poll(Duration.ofSeconds(20));
            assertEquals(1, events.size(), events.toString());
            assertSame(ready, events.get(0).socket());
        } finally {
            for (NativeSocketChannel c : all) {
                c.close();
            }
        }
    }

    @Test
    void anFdClosedUnderTheQueueIsReportedOnceAsAnErrorAndForgotten() throws Exception {
        NativeSocketChannel[] closed = NativeSockets.socketPair();
        NativeSocketChannel[] live = NativeSockets.socketPair();
        try (EventQueue<RawFd> q = EventQueues.open("poll", RawFd::fd)) {
            RawFd gone = new RawFd(closed[0].getFD());
            RawFd alive = new RawFd(live[0].getFD());
            q.subscribeRead(gone);
            q.subscribeRead(alive);
            closed[0].close(); // behind the queue's back; fdOf still answers the old number
            List<SocketEvent<RawFd>> first = q.poll(Duration.ofSeconds(20));
            assertEquals(1, first.size(), first.toString());
            assertSame(gone, first.get(0).socket());
            assertTrue(first.get(0).isError());
            assertTrue(!q.isSubscribedRead(gone), "forgotten after the report");
            long start = System.nanoTime();
            assertEquals(List.of(), q.poll(Duration.ofMillis(200)), "reported twice");
            assertTrue(System.nanoTime() - start >= 200_000_000L, "spinning on the closed fd");
            live[1].write(ByteBuffer.wrap(new byte[] {1}));
            assertSame(alive, q.poll(Duration.ofSeconds(20)).get(0).socket());
        } finally {
            closed[1].close();
            live[0].close();
            live[1].close();
        }
    }

    @Test
    void moreReadyFdsThanMaxEventsAllGetTheirTurn() throws Exception {
        List<NativeSocketChannel> all = new ArrayList<>();
        try (Backend backend = new PollProvider().open(2)) {
            Set<Long> tokens = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                NativeSocketChannel[] p = NativeSockets.socketPair();
                all.add(p[0]);
                all.add(p[1]);
                backend.register(p[0].getFD(), 100 + i, Backend.READ, Backend.LEVEL);
                p[1].write(ByteBuffer.wrap(new byte[] {1}));
                tokens.add(100L + i);
            }
            Set<Long> seen = new HashSet<>();
            for (int round = 0; round < 3; round++) {
                int n = backend.poll(5_000_000_000L);
                assertTrue(n >= 1 && n <= 2, "returned " + n + " events with maxEvents 2");
                for (int i = 0; i < n; i++) {
                    assertEquals(Backend.READ, backend.readyOps(i) & Backend.READ);
                    seen.add(backend.readyToken(i));
                }
            }
            assertEquals(tokens, seen, "level-triggered fds starved by the maxEvents cap");
        } finally {
            for (NativeSocketChannel c : all) {
                c.close();
            }
        }
    }

    @Test
    void aChangeTakesEffectAtTheNextWaitWithTheTokenItWasBuiltWith() throws Exception {
        NativeSocketChannel[] p = HighFd.socketPair(); // its number is closed and named again below
        try (Backend backend = new PollProvider().open(16)) {
            int fd = p[0].getFD();
            backend.register(fd, 7, Backend.WRITE, Backend.LEVEL);
            assertEquals(1, backend.poll(0));
            assertEquals(7, backend.readyToken(0));
            assertEquals(Backend.WRITE, backend.readyOps(0));
            backend.reregister(fd, 8, Backend.READ, Backend.LEVEL, Backend.READ, Backend.LEVEL);
            assertEquals(0, backend.poll(0), "nothing to read yet");
            p[1].write(ByteBuffer.wrap(new byte[] {1}));
            assertEquals(1, backend.poll(0));
            assertEquals(8, backend.readyToken(0));
            assertEquals(Backend.READ, backend.readyOps(0));
            backend.deregister(fd, 8, Backend.READ, Backend.LEVEL);
            backend.deregister(fd, 8, Backend.READ, Backend.LEVEL); // unknown now: a no-op
            assertEquals(0, backend.poll(0));
            assertTrue(assertThrows(IOException.class, () -> backend.register(-1, 1, Backend.READ, Backend.LEVEL))
                    .getMessage().contains("EBADF"));
            assertTrue(assertThrows(IOException.class, () -> backend.reregister(-1, 1, Backend.READ, Backend.LEVEL, Backend.READ, Backend.LEVEL))
                    .getMessage().contains("EBADF"));
            p[0].close();
            assertTrue(assertThrows(IOException.class, () -> backend.reregister(fd, 9, Backend.READ, Backend.LEVEL, Backend.READ, Backend.LEVEL))
                    .getMessage().contains("EBADF"));
            assertEquals(0, backend.poll(0));
        } finally {
            p[0].close();
            p[1].close();
        }
    }

    @Test
    void aWaitIsNeverShorterThanItsTimeoutRoundedUpToMilliseconds() throws Exception {
        try (Backend backend = new PollProvider().open(16)) {
            for (long nanos : new long[] {1, 300_000, 1_000_001, 20_000_000}) {
                long start = System.nanoTime();
                assertEquals(0, backend.poll(nanos));
                long waited = System.nanoTime() - start;
                assertTrue(waited >= nanos, "poll(" + nanos + " ns) returned after " + waited + " ns");
            }
        }
    }

    /**
     * The poll bits and {@code struct pollfd} against the headers (kernel-facts.md): the same on
     * Linux, macOS and the BSDs, but POLLRDHUP, which is Linux's and requested only there.
     */
    @Test
    void pollBitsAndStructPollfdAreTheHeadersOnes() {
        assertEquals(0x1, PollBackend.POLLIN);
        assertEquals(0x4, PollBackend.POLLOUT);
        assertEquals(0x8, PollBackend.POLLERR);
        assertEquals(0x10, PollBackend.POLLHUP);
        assertEquals(0x20, PollBackend.POLLNVAL);
        assertEquals(0x2000, PollBackend.POLLRDHUP);
        assertEquals(8, PollBackend.POLLFD_SIZE); // int fd @0, short events @4, short revents @6
    }

    @Test
    void pollReventsTranslation() {
        assertEquals(PollBackend.INVALID, PollBackend.translate(PollBackend.POLLNVAL | PollBackend.POLLIN));
        assertEquals(PollBackend.READ | PollBackend.PEER_CLOSED, PollBackend.translate(PollBackend.POLLIN | PollBackend.POLLRDHUP));
        assertEquals(PollBackend.READ | PollBackend.WRITE | PollBackend.ERROR | PollBackend.PEER_CLOSED,
                PollBackend.translate(PollBackend.POLLERR | PollBackend.POLLHUP));
        assertEquals(PollBackend.READ | PollBackend.WRITE | PollBackend.PEER_CLOSED, PollBackend.translate(PollBackend.POLLHUP));
        assertEquals(PollBackend.READ | PollBackend.WRITE | PollBackend.ERROR, PollBackend.translate(PollBackend.POLLERR));
        assertEquals(PollBackend.WRITE, PollBackend.translate(PollBackend.POLLOUT));
        assertEquals(PollBackend.READ, PollBackend.translate(PollBackend.POLLIN));
    }

    @Test
    void kernelPeerClosedIsAnnouncedOnlyWhereThereIsPollRdHup() {
        assertTrue(PollProvider.capabilitiesFor(jnr.ffi.Platform.OS.LINUX).contains(io.polyplex.Capability.KERNEL_PEER_CLOSED));
        for (jnr.ffi.Platform.OS os : new jnr.ffi.Platform.OS[] {jnr.ffi.Platform.OS.DARWIN, jnr.ffi.Platform.OS.FREEBSD,
                jnr.ffi.Platform.OS.OPENBSD, jnr.ffi.Platform.OS.DRAGONFLY}) {
            assertEquals(Set.of(io.polyplex.Capability.UNLIMITED_FDS), PollProvider.capabilitiesFor(os));
        }
    }
}
