package io.polyplex.poll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What only the poll backend has: no descriptor limit, and POLLNVAL for an fd closed under it. */
@Timeout(120)
class PollBackendTest {

    /** A socket type that is not a Channel: core cannot tell it was closed, only the kernel can. */
    record RawFd(int fd) { }

    @Test
    void tenThousandDescriptorsWithOneReady() throws Exception {
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
    void pollReventsTranslation() {
        assertEquals(PollBackend.INVALID, PollBackend.translate(PollBackend.POLLNVAL | PollBackend.POLLIN));
        assertEquals(PollBackend.READ | PollBackend.PEER_CLOSED, PollBackend.translate(PollBackend.POLLIN | PollBackend.POLLRDHUP));
        assertEquals(PollBackend.READ | PollBackend.WRITE | PollBackend.ERROR | PollBackend.PEER_CLOSED,
                PollBackend.translate(PollBackend.POLLERR | PollBackend.POLLHUP));
    }
}
