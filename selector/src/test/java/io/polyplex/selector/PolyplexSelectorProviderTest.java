package io.polyplex.selector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The provider itself: how a backend is chosen, the errors for a backend that is unknown or cannot
 * run here, and the channel factories, each handing out a jnr-unixsocket channel that its selector
 * watches, or refusing with a message that says what to use instead.
 */
class PolyplexSelectorProviderTest {

    @TempDir
    Path dir;

    @Test
    @EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is the best backend on Linux only")
    void getInstanceOpensTheBestBackend() throws IOException {
        PolyplexSelectorProvider provider = PolyplexSelectorProvider.getInstance();
        assertSame(provider, PolyplexSelectorProvider.getInstance());
        assertEquals("best", provider.backend());
        try (Selector s = provider.openSelector()) {
            assertSame(provider, s.provider());
            assertTrue(s.toString().startsWith("PolyplexSelector[epoll"), s.toString());
        }
    }

    @Test
    void aNamedBackendIsCheckedAtOnce() throws IOException {
        assertEquals("poll", PolyplexSelectorProvider.forBackend("poll").backend());
        try (Selector s = PolyplexSelectorProvider.forBackend("select").openSelector()) {
            assertTrue(s.toString().startsWith("PolyplexSelector[select"), s.toString());
        }
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> PolyplexSelectorProvider.forBackend("iocp"));
        assertTrue(unknown.getMessage().contains("unknown backend \"iocp\"") && unknown.getMessage().contains("poll"),
                unknown.getMessage());
        assertThrows(NullPointerException.class, () -> PolyplexSelectorProvider.forBackend((String) null));
    }

    @Test
    void unixSocketChannelsComeFromTheProviderAndItsSelectorWatchesThem() throws IOException {
        PolyplexSelectorProvider provider = PolyplexSelectorProvider.forBackend("poll");
        Path file = dir.resolve("s.sock");
        try (UnixServerSocketChannel server = UnixServerSocketChannel.open();
             Selector selector = provider.openSelector()) {
            server.socket().bind(new UnixSocketAddress(file.toFile()));
            server.configureBlocking(false);
            SelectionKey acceptKey = server.register(selector, SelectionKey.OP_ACCEPT);
            SocketChannel client = provider.openSocketChannel(StandardProtocolFamily.UNIX);
            try (client) {
                assertTrue(client instanceof UnixSocketChannel, client.getClass().getName());
                // (Not isConnected(): jnr-unixsocket 0.39.9 answers true for a socket never connected.)
                assertTrue(client.isBlocking() && client.isOpen(), "new, open, blocking");
                assertTrue(((UnixSocketChannel) client).connect(new UnixSocketAddress(file.toFile())));
                assertEquals(1, selector.select(20_000));
                assertTrue(selector.selectedKeys().contains(acceptKey));
                try (UnixSocketChannel accepted = server.accept()) {
                    accepted.configureBlocking(false);
                    client.configureBlocking(false);
                    SelectionKey readKey = accepted.register(selector, SelectionKey.OP_READ);
                    client.write(ByteBuffer.wrap(new byte[] {42}));
                    selector.selectedKeys().clear();
                    assertEquals(1, selector.select(20_000));
                    assertTrue(selector.selectedKeys().contains(readKey));
                }
            }
        }
    }

    @Test
    void unixDatagramChannelsComeFromTheProvider() throws IOException {
        DatagramChannel ch = PolyplexSelectorProvider.getInstance().openDatagramChannel(StandardProtocolFamily.UNIX);
        try (ch) {
            assertTrue(ch instanceof UnixDatagramChannel, ch.getClass().getName());
            assertTrue(ch.isOpen() && ch.isBlocking());
        }
    }

    @Test
    void everyOtherFactoryRefusesAndSaysWhatToUse() {
        PolyplexSelectorProvider p = PolyplexSelectorProvider.getInstance();
        assertRefused(() -> p.openSocketChannel(), "NativeSockets.connect");
        assertRefused(() -> p.openSocketChannel(StandardProtocolFamily.INET), "UNIX only");
        assertRefused(() -> p.openServerSocketChannel(), "UnixServerSocketChannel.open()");
        assertRefused(() -> p.openServerSocketChannel(StandardProtocolFamily.UNIX), "NativeSockets.listen");
        assertRefused(() -> p.openDatagramChannel(), "StandardProtocolFamily.UNIX");
        assertRefused(() -> p.openDatagramChannel(StandardProtocolFamily.INET6), "UNIX only");
        assertRefused(() -> p.openPipe(), "socket pair");
    }

    private static void assertRefused(Factory f, String hint) {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, f::open);
        assertTrue(e.getMessage().contains(hint), e.getMessage());
    }

    @FunctionalInterface
    private interface Factory {
        Object open() throws IOException;
    }
}
