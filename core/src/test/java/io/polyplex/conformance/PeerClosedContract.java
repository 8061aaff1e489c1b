package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.Capability;
import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * The README's third bug: the peer's close is reported without consuming data (Netty
 * #4317/#4325: RDHUP and IN together, data first); a reset is reported as an error on the read
 * path.
 */
public abstract class PeerClosedContract extends ContractBase {

    private void assertPeerClosedWithDataStillReadable(NativeSocketChannel ours, NativeSocketChannel peer,
                                                       boolean shutdownOnly) throws Exception {
        queue.subscribeRead(ours);
        write(peer, "abc");
        if (shutdownOnly) {
            NativeSockets.shutdownOutput(peer.getFD());
        } else {
            peer.close();
        }
        if (queue.capabilities().contains(Capability.KERNEL_PEER_CLOSED)) {
            // The kernel flags the close while data is still queued before it.
            int ops = awaitEvent(ours, SocketEvent.READ | SocketEvent.PEER_CLOSED);
            assertEquals(0, ops & SocketEvent.ERROR, "an orderly close is no error: " + SocketEvent.opsToString(ops));
            // Reporting it consumed nothing: the data is still there, then the end of stream.
            assertEquals("abc", readNow(ours));
            assertNull(readNow(ours));
        } else {
            // The MSG_PEEK probe sees the close once the data before it has been read.
            int ops = awaitEvent(ours, SocketEvent.READ);
            assertEquals(0, ops & SocketEvent.PEER_CLOSED, "the probe cannot see past unread data");
            assertEquals("abc", readNow(ours), "reporting readiness consumed data");
            ops = awaitEvent(ours, SocketEvent.READ | SocketEvent.PEER_CLOSED);
            assertEquals(0, ops & SocketEvent.ERROR, "an orderly close is no error: " + SocketEvent.opsToString(ops));
            assertNull(readNow(ours), "the probe consumed the end of stream");
        }
    }

    @Test
    void unixPeerShutdownIsReportedWithDataStillReadable() throws Exception {
        NativeSocketChannel[] p = pair();
        assertPeerClosedWithDataStillReadable(p[0], p[1], true);
    }

    @Test
    void unixPeerCloseIsReportedWithDataStillReadable() throws Exception {
        NativeSocketChannel[] p = pair();
        assertPeerClosedWithDataStillReadable(p[0], p[1], false);
    }

    @Test
    void tcpPeerShutdownIsReportedWithDataStillReadable() throws Exception {
        NativeSocketChannel[] t = tcpPair();
        assertPeerClosedWithDataStillReadable(t[0], t[1], true);
    }

    @Test
    void tcpPeerCloseIsReportedWithDataStillReadable() throws Exception {
        NativeSocketChannel[] t = tcpPair();
        assertPeerClosedWithDataStillReadable(t[0], t[1], false);
    }

    @Test
    void peerClosedIsReportedAgainWhileUnhandledButNotAfterRemove() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        p[1].close();
        awaitEvent(p[0], SocketEvent.PEER_CLOSED);
        assertTrue((opsNow(p[0]) & SocketEvent.PEER_CLOSED) != 0, "level-triggered: still reported");
        queue.remove(p[0]);
        assertEquals(0, queue.poll(java.time.Duration.ofMillis(100)).size());
    }

    @Test
    void resetIsReportedAsAnErrorOnTheReadPath() throws Exception {
        NativeSocketChannel[] t = tcpPair();
        queue.subscribeRead(t[0]);
        write(t[0], "provoke"); // unread data on the peer side makes its close a reset anyway
        NativeSockets.abort(t[1]);
        // A reset is an error on every backend (SocketEvent#ERROR), whatever else is reported with it.
        int ops = awaitEvent(t[0], SocketEvent.READ | SocketEvent.ERROR);
        if (queue.capabilities().contains(Capability.KERNEL_PEER_CLOSED)) {
            assertThrows(IOException.class, () -> readNow(t[0]), "a read after the reset must fail");
        } else {
            // The probe's recv reported (and so cleared) the socket error: ERROR is the report.
            assertTrue((ops & SocketEvent.ERROR) != 0, SocketEvent.opsToString(ops));
            try {
                assertNull(readNow(t[0]), "after a reset a read sees an error or the end of stream");
            } catch (IOException expected) {
                // also fine
            }
        }
    }

    /**
     * Our own shutdown(SHUT_WR) is not the peer's close: the socket stays writable (a send fails
     * with EPIPE) and no event says PEER_CLOSED, while the peer can still send to us. (kqueue sets
     * EV_EOF on the write filter then: FreeBSD and XNU {@code filt_sowrite}.)
     */
    private void assertOwnShutdownIsNoPeerClose(NativeSocketChannel ours, NativeSocketChannel peer) throws Exception {
        queue.subscribeReadWrite(ours);
        NativeSockets.shutdownOutput(ours.getFD());
        for (int i = 0; i < 3; i++) {
            int ops = awaitEvent(ours, SocketEvent.WRITE);
            assertEquals(0, ops & (SocketEvent.PEER_CLOSED | SocketEvent.ERROR),
                    "our own SHUT_WR reported as " + SocketEvent.opsToString(ops));
        }
        assertThrows(IOException.class, () -> NativeSockets.send(ours.getFD(), java.nio.ByteBuffer.wrap(new byte[] {1})),
                "a send after our own SHUT_WR must fail");
        write(peer, "still here");
        int ops = awaitEvent(ours, SocketEvent.READ);
        assertEquals(0, ops & (SocketEvent.PEER_CLOSED | SocketEvent.ERROR), SocketEvent.opsToString(ops));
        assertEquals("still here", readNow(ours));
    }

    @Test
    void ourOwnTcpShutdownOfOutputIsNoPeerClose() throws Exception {
        NativeSocketChannel[] t = tcpPair();
        assertOwnShutdownIsNoPeerClose(t[0], t[1]);
    }

    @Test
    void ourOwnUnixShutdownOfOutputIsNoPeerClose() throws Exception {
        NativeSocketChannel[] p = pair();
        assertOwnShutdownIsNoPeerClose(p[0], p[1]);
    }

    /** A reset seen through WRITE alone is an error too: WRITE|ERROR, as on the read path. */
    @Test
    void aResetWithWriteInterestOnlyIsReportedAsAnError() throws Exception {
        NativeSocketChannel[] t = tcpPair();
        queue.subscribeWrite(t[0]);
        NativeSockets.abort(t[1]);
        int ops = awaitEvent(t[0], SocketEvent.WRITE | SocketEvent.ERROR);
        assertEquals(0, ops & SocketEvent.READ, "READ reported without read interest");
        assertThrows(IOException.class, () -> NativeSockets.send(t[0].getFD(), java.nio.ByteBuffer.allocateDirect(16)),
                "a send after the reset must fail (EPIPE or ECONNRESET, never SIGPIPE)");
    }

    /**
     * A non-blocking connect that is refused is reported, through WRITE alone, as WRITE|ERROR, and
     * the refusal is what finishing the connect throws. The connect must be under way when it is
     * refused: one that connect(2) refuses at once never reaches the queue.
     */
    @Test
    void aRefusedConnectIsReportedAsAnError() throws Exception {
        NativeSocketChannel c = aConnectToBeRefused();
        queue.subscribeWrite(c);
        int ops = awaitEvent(c, SocketEvent.WRITE | SocketEvent.ERROR);
        assertEquals(0, ops & SocketEvent.READ, "READ reported without read interest");
        io.polyplex.NativeIOException e = assertThrows(io.polyplex.NativeIOException.class, () -> NativeSockets.finishConnect(c));
        assertEquals("ECONNREFUSED", e.errnoName(), e.getMessage());
    }

    /**
     * A non-blocking connect to a closed loopback port that connect(2) left under way (EINPROGRESS):
     * the port's refusal comes after. On Linux it always does: {@code __inet_stream_connect} returns
     * EINPROGRESS while the socket is still SYN_SENT, and the RST, arriving while connect(2) holds
     * the socket's lock, waits in its backlog until {@code release_sock}; so a refusal at once fails
     * there. Where the answer can come first (FreeBSD's {@code kern_connectat} and XNU's {@code
     * connect_nocancel} return {@code so_error} once the socket is no longer connecting), up to 20
     * attempts are made; if every one is refused at once the test is skipped, saying so, never
     * passed.
     */
    private NativeSocketChannel aConnectToBeRefused() throws IOException {
        for (int attempt = 0; attempt < 20; attempt++) {
            java.net.InetSocketAddress nobody;
            try (jnr.enxio.channels.NativeServerSocketChannel s =
                         NativeSockets.listen(new java.net.InetSocketAddress("127.0.0.1", 0), 1)) {
                nobody = (java.net.InetSocketAddress) NativeSockets.localAddress(s.getFD()); // closed again: nobody listens there now
            }
            try {
                return closeLater(NativeSockets.startConnect(nobody));
            } catch (java.net.ConnectException refusedAtOnce) {
                assertEquals("ECONNREFUSED", ((io.polyplex.NativeIOException) refusedAtOnce.getCause()).errnoName(),
                        refusedAtOnce.getMessage());
                assertFalse(jnr.ffi.Platform.getNativePlatform().getOS() == jnr.ffi.Platform.OS.LINUX,
                        "Linux refused a loopback connect in connect(2) itself: " + refusedAtOnce.getMessage());
            }
        }
        return org.junit.jupiter.api.Assumptions.abort("connect(2) refused 20 connects to a closed loopback port at"
                + " once: a refusal the queue reports cannot be provoked on this system");
    }
}
