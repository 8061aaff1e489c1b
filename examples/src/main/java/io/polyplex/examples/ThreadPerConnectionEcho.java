package io.polyplex.examples;

import io.polyplex.ClosedParkingPollerException;
import io.polyplex.ParkingPoller;
import io.polyplex.net.BlockingSockets;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * An echo server with one thread per connection over native sockets: every blocking call parks in a
 * {@link ParkingPoller}, so on virtual threads (JDK 21+) thousands of connections pin no carrier.
 * The README's second example, compiled and tested by the build.
 */
public final class ThreadPerConnectionEcho {

    /** Accepts and serves on {@code threads} until {@code poller} is closed; then returns. */
    public static void serve(NativeServerSocketChannel server, ParkingPoller poller, ExecutorService threads)
            throws IOException {
        BlockingSockets io = new BlockingSockets(poller);
        try {
            while (true) {
                NativeSocketChannel c = io.accept(server, null);           // parks until a client comes
                threads.execute(() -> {
                    try (c) {
                        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
                        while (io.read(c, buf.clear(), null) > 0) {         // parks until data comes
                            io.write(c, buf.flip(), null);                  // parks while the peer is slow
                        }
                    } catch (IOException e) {
                        // the client went away, or the server is stopping
                    }
                });
            }
        } catch (ClosedParkingPollerException e) {
            // poller.close() from another thread: the normal way out
        }
    }

    /** Listens on 127.0.0.1 (port from the first argument, default 7008); Ctrl-C stops it. */
    public static void main(String[] args) throws IOException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7008;
        ExecutorService threads = virtualThreadsIfAny();
        try (ParkingPoller poller = ParkingPoller.open();
             NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", port), 128)) {
            Runtime.getRuntime().addShutdownHook(new Thread(poller::close));   // ends every wait
            System.out.println("echo on " + NativeSockets.localAddress(server) + " (" + poller.backend() + ")");
            serve(server, poller, threads);
        } finally {
            threads.shutdown();
        }
    }

    /** A virtual thread per task on JDK 21+, else a platform thread per task (Java 17 is the baseline). */
    static ExecutorService virtualThreadsIfAny() {
        try {
            return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        } catch (ReflectiveOperationException e) {
            return Executors.newCachedThreadPool();
        }
    }
}
