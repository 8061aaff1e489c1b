package io.polyplex.net;

import io.polyplex.internal.SocketLibrary;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.NativeIOException;
import io.polyplex.conformance.ContractBase;
import io.polyplex.conformance.Faults;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import jnr.constants.platform.Errno;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Injected accept(2) failures under {@link BlockingAcceptor}, a client waiting in the backlog:
 * EINTR and EAGAIN are invisible (the client is returned); EMFILE and ENFILE are the documented
 * shortage (the waiting client is refused with the spare descriptor, counted and logged as a
 * warning, which the test captures, and the next client is served); anything else is thrown naming
 * the call, the listening fd and the errno, logs nothing, and the next accept() serves the client
 * still waiting. No fd is left open either way.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BlockingAcceptorFaultTest {

    /** Opens and closes an acceptor once: what the JVM and jnr open on first use is no leak. */
    @BeforeAll
    static void warmUp() throws IOException {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
                BlockingAcceptor acceptor = new BlockingAcceptor(server)) {
            acceptor.shutdown();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"EINTR", "EAGAIN", "ECONNABORTED", "ENOMEM", "EBADF", "EMFILE", "ENFILE"})
    void aFailedAcceptIsHandledAsDocumented(String errno) throws Exception {
        Set<Integer> before = ContractBase.fdNumbers();
        Faults faults = new Faults();
        SocketCalls sockets = new SocketCalls(faults.wrap(SocketLibrary.class, SocketLibrary.INSTANCE, SocketLibrary.RUNTIME));
        String accept4 = io.polyplex.internal.OsConstants.CURRENT.hasAccept4() ? "accept4" : "accept";
        try (CapturedLog log = CapturedLog.of(BlockingAcceptor.class);
                NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8);
                BlockingAcceptor acceptor = new BlockingAcceptor(server, null, sockets)) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            try (NativeSocketChannel first = NativeSockets.connect(at)) {
                faults.failNth(accept4, 1, Errno.valueOf(errno).intValue());
                switch (errno) {
                    case "EINTR", "EAGAIN", "ECONNABORTED" -> {
                        // EINTR and ECONNABORTED: accept again at once; EAGAIN: nobody there after
                        // all, so wait on the queue, which says the listener is still readable.
                        try (NativeSocketChannel served = acceptor.accept()) {
                            assertNotNull(served);
                            assertServes(first, served);
                        }
                        assertEquals(0, acceptor.refusedForLackOfFds());
                    }
                    case "EMFILE", "ENFILE" -> {
                        try (NativeSocketChannel second = NativeSockets.connect(at);
                                NativeSocketChannel served = acceptor.accept()) {
                            assertEquals(1, acceptor.refusedForLackOfFds(), "the first client was refused");
                            assertServes(second, served);
                            assertTrue(acceptor.holdsSpare(), "the spare descriptor was taken back");
                            assertRefused(first);
                        }
                        // The shortage is logged, once per refused client.
                        assertEquals(List.of("out of file descriptors (" + errno + "): refused a client; 1 refused so far"),
                                log.messages(Level.WARNING));
                    }
                    default -> {
                        NativeIOException e = assertThrows(NativeIOException.class, acceptor::accept);
                        assertEquals(accept4 + "(fd=" + server.getFD() + "): " + errno + " (" + Errno.valueOf(errno).description() + ")",
                                e.getMessage());
                        try (NativeSocketChannel served = acceptor.accept()) {
                            assertServes(first, served); // still waiting in the backlog: served now
                        }
                    }
                }
                assertNotNull(faults.fired(), "the fault was injected");
                if (!errno.equals("EMFILE") && !errno.equals("ENFILE")) {
                    assertEquals(List.of(), log.messages(Level.WARNING), "a warning for " + errno);
                }
            }
            acceptor.shutdown();
        }
        assertEquals(Set.of(), ContractBase.newFds(before), "fds left open");
    }

    /** The accepted socket is the client's other end: a byte goes across. */
    private static void assertServes(NativeSocketChannel client, NativeSocketChannel served) throws IOException {
        NativeSockets.send(client.getFD(), ByteBuffer.wrap(new byte[] {42}));
        ByteBuffer b = ByteBuffer.allocate(1);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (b.hasRemaining() && System.nanoTime() < deadline) {
            NativeSockets.recv(served.getFD(), b);
        }
        assertEquals(42, b.get(0), "the accepted socket is the client's");
    }

    /** The refused client sees its connection end (closed or reset) without a byte. */
    private static void assertRefused(NativeSocketChannel client) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                int n = NativeSockets.recv(client.getFD(), b);
                if (n < 0) {
                    return;
                }
                assertEquals(0, n, "a refused client got data");
            } catch (NativeIOException e) {
                assertEquals("ECONNRESET", e.errnoName());
                return;
            }
        }
        throw new AssertionError("the refused client's connection did not end in 20 s");
    }
}
