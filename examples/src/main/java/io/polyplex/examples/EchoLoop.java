package io.polyplex.examples;

import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.SocketEvent;
import io.polyplex.SocketEventHandler;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;

/** An echo server on one event loop: the README's usage example, compiled and tested by the build. */
public final class EchoLoop {

    /**
     * Serves until another thread closes {@code queue} or interrupts this one (an executor's
     * {@code shutdownNow()}); then returns.
     */
    public static void serve(EventQueue<NativeSelectableChannel> queue, NativeServerSocketChannel server)
            throws IOException {
        queue.subscribeRead(server);
        ByteBuffer buf = ByteBuffer.allocateDirect(16 * 1024);
        SocketEventHandler<NativeSelectableChannel> handler = (ch, ops) -> {
            if (ch == server) {                               // drain the listener
                try {
                    for (NativeSocketChannel c; (c = NativeSockets.accept(server)) != null; ) {
                        queue.subscribeRead(c);
                    }
                } catch (IOException e) {
                    System.err.println("accept: " + e.getMessage());  // e.g. EMFILE; retried on the next event
                }
                return;
            }
            NativeSocketChannel c = (NativeSocketChannel) ch;
            try {
                if ((ops & SocketEvent.ERROR) != 0 || c.read(buf.clear()) < 0) {
                    closeQuietly(queue, c);                   // remove first, then close
                } else {
                    c.write(buf.flip());                      // a real server keeps what did not fit
                }
            } catch (IOException e) {                         // reset by the peer, and the like
                closeQuietly(queue, c);
            }
        };
        try {
            while (!Thread.currentThread().isInterrupted()) { // poll returns at once while interrupted
                queue.poll(null, handler);                    // blocks until events, wakeup() or close()
            }
        } catch (ClosedEventQueueException e) {
            // queue.close() from another thread: the normal way out
        }
    }

    private static void closeQuietly(EventQueue<NativeSelectableChannel> queue, NativeSocketChannel c) {
        try {
            queue.remove(c);
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Listens on 127.0.0.1 (port from the first argument, default 7007); Ctrl-C stops it. */
    public static void main(String[] args) throws IOException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7007;
        try (EventQueue<NativeSelectableChannel> queue = EventQueues.open(NativeSelectableChannel::getFD);
             NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", port), 128)) {
            Runtime.getRuntime().addShutdownHook(new Thread(queue::close));
            System.out.println("echo on " + NativeSockets.localAddress(server) + " (" + queue.backend() + ")");
            serve(queue, server);
        }
    }
}
