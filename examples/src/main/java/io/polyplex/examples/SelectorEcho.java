package io.polyplex.examples;

import io.polyplex.selector.PolyplexSelectorProvider;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;

/**
 * An echo server over a Unix socket on a java.nio Selector, written as jnr-unixsocket users write
 * one; only the line that opens the selector is Polyplex's. The README's Selector example, compiled
 * and tested by the build.
 */
public final class SelectorEcho {

    /** Serves until another thread closes {@code selector}; then returns. */
    public static void serve(Selector selector, UnixServerSocketChannel server) throws IOException {
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        try {
            while (true) {
                selector.select();
                for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey key = it.next();
                    it.remove();
                    if (key.isValid() && key.isAcceptable()) {
                        UnixSocketChannel c = server.accept();
                        if (c != null) {
                            c.configureBlocking(false);
                            c.register(selector, SelectionKey.OP_READ, ByteBuffer.allocate(16 * 1024));
                        }
                    } else if (key.isValid()) {
                        echo(key);
                    }
                }
            }
        } catch (ClosedSelectorException e) {
            // closed by another thread: done
        }
    }

    /** Reads what came and writes it back; what the peer is not ready for waits for OP_WRITE. */
    private static void echo(SelectionKey key) {
        UnixSocketChannel c = (UnixSocketChannel) key.channel();
        ByteBuffer buf = (ByteBuffer) key.attachment();  // unsent bytes between position and limit
        try {
            if (key.isReadable() && c.read(buf.clear()) < 0) {
                c.close();                                   // also cancels its key
                return;
            }
            if (key.isReadable()) {
                buf.flip();
            }
            c.write(buf);
            key.interestOps(buf.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        } catch (CancelledKeyException e) {
            // the selector was closed meanwhile by another thread (it cancels every key): done
        } catch (IOException e) {                            // reset by the peer, ...
            try {
                c.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    public static void main(String[] args) throws IOException {
        // was: Selector selector = NativeSelectorProvider.getInstance().openSelector();
        Selector selector = PolyplexSelectorProvider.getInstance().openSelector();
        try (UnixServerSocketChannel server = UnixServerSocketChannel.open()) {
            server.socket().bind(new UnixSocketAddress(new File(args[0])));
            serve(selector, server);
        }
    }
}
