package io.polyplex.demo;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * A TCP echo server on one event-loop thread, written only against the public API: it shows the
 * pattern every Polyplex server follows.
 *
 * <ul>
 *   <li>The listening socket is level-triggered and drained until accept says "would block".
 *   <li>Each connection reads while it has room; what cannot be written at once is kept, read
 *       interest is disabled and write interest subscribed until the backlog drains (back-pressure
 *       without a busy loop).
 *   <li>A failed read or write (EPIPE, ECONNRESET: the peer went away mid-response) removes the
 *       connection from the queue before closing it, then the loop goes on serving everyone else.
 *   <li>{@link #stop()} from any thread (a shutdown hook, a test) closes the queue: the loop's
 *       blocked poll ends at once with {@code ClosedEventQueueException}, and the loop closes every
 *       socket it owns.
 * </ul>
 */
public final class EchoServer implements Runnable {

    /** What the queue watches: the listener or one connection. */
    private abstract static class Endpoint {
        abstract int fd();
    }

    private static final class Listener extends Endpoint {
        final NativeServerSocketChannel channel;

        Listener(NativeServerSocketChannel channel) {
            this.channel = channel;
        }

        @Override
        int fd() {
            return channel.getFD();
        }
    }

    private static final class Connection extends Endpoint {
        final NativeSocketChannel channel;
        /** Bytes read but not yet echoed; in "read" mode between loop turns. */
        final ByteBuffer pending = ByteBuffer.allocateDirect(16 * 1024);

        Connection(NativeSocketChannel channel) {
            this.channel = channel;
        }

        @Override
        int fd() {
            return channel.getFD();
        }
    }

    private final EventQueue<Endpoint> queue;
    private final Listener listener;
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** The connections the loop owns; touched only by the loop's thread. */
    private final java.util.Set<Connection> open = new java.util.LinkedHashSet<>();
    private volatile long connections;
    private volatile long abortedWrites;

    /**
     * Opens the queue and the listener; {@code backend} null means the best one for this OS.
     *
     * @throws IllegalArgumentException if no backend of that name is on the class path
     * @throws UnsupportedOperationException if it does not run here
     * @throws IOException if the address cannot be listened on, naming it
     */
    public EchoServer(InetSocketAddress address, String backend) throws IOException {
        queue = backend == null ? EventQueues.open(Endpoint::fd) : EventQueues.open(backend, Endpoint::fd);
        NativeServerSocketChannel server = null;
        try {
            server = NativeSockets.listen(address, 128);
            listener = new Listener(server);
            queue.subscribeRead(listener);
        } catch (IOException | RuntimeException e) {
            queue.close();
            if (server != null) {
                server.close();
            }
            throw e;
        }
    }

    /** Where the server listens (useful with port 0). */
    public InetSocketAddress localAddress() throws IOException {
        return ((InetSocketAddress) NativeSockets.localAddress(listener.fd()));
    }

    /** The backend the queue runs on. */
    public String backend() {
        return queue.backend();
    }

    /** Runs the event loop until {@link #stop()}. */
    @Override
    public void run() {
        try {
            while (true) {
                queue.poll(null, this::onEvent);
            }
        } catch (io.polyplex.ClosedEventQueueException e) {
            // stop() was called: the normal way out
        } catch (IOException e) {
            System.err.println("event loop failed: " + e.getMessage());
        } finally {
            closeQuietly(listener.channel);
            for (Connection c : open) {
                closeQuietly(c.channel);
            }
            open.clear();
            stopped.countDown();
        }
    }

    private void onEvent(Endpoint endpoint, int readyOps) {
        if (endpoint instanceof Listener) {
            acceptAll();
            return;
        }
        Connection c = (Connection) endpoint;
        try {
            if ((readyOps & SocketEvent.WRITE) != 0 && !flush(c)) {
                return; // still backed up
            }
            if ((readyOps & SocketEvent.READ) != 0) {
                echo(c);
            }
        } catch (IOException e) {
            abortedWrites++;
            drop(c);
        }
    }

    private void acceptAll() {
        while (true) {
            NativeSocketChannel ch;
            try {
                ch = NativeSockets.accept(listener.channel);
            } catch (IOException e) {
                System.err.println("accept failed: " + e.getMessage());
                return;
            }
            if (ch == null) {
                return; // drained: nothing else is waiting
            }
            Connection c = new Connection(ch);
            try {
                queue.subscribeRead(c);
                open.add(c);
                connections++;
            } catch (IOException e) {
                closeQuietly(ch);
            }
        }
    }

    /** Reads what is there and writes it back; switches to write mode if the peer is slow. */
    private void echo(Connection c) throws IOException {
        ByteBuffer buf = c.pending;
        buf.clear();
        int n = c.channel.read(buf);
        if (n < 0) {
            drop(c); // end of stream: the peer closed
            return;
        }
        buf.flip();
        if (!flush(c)) {
            queue.disableRead(c);
            queue.subscribeWrite(c);
        }
    }

    /** Writes the pending bytes; true when all went out (and read mode is restored). */
    private boolean flush(Connection c) throws IOException {
        ByteBuffer buf = c.pending;
        while (buf.hasRemaining()) {
            if (NativeSockets.send(c.fd(), buf) == 0) {
                return false;
            }
        }
        if (queue.isSubscribedWrite(c) && !queue.isDisabledWrite(c)) {
            queue.disableWrite(c);
            queue.subscribeRead(c);
        }
        return true;
    }

    /** Removes before closing: the fd number must leave the queue before it can be reused. */
    private void drop(Connection c) {
        open.remove(c);
        try {
            queue.remove(c);
        } catch (IOException e) {
            // the socket is being closed anyway
        }
        closeQuietly(c.channel);
    }

    /** Stops the loop from any thread; returns once the loop has ended. */
    public void stop() throws InterruptedException {
        queue.close();
        stopped.await();
    }

    private static void closeQuietly(java.nio.channels.Channel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing to do on close
        }
    }

    /**
     * {@code --host H --port P --backend NAME} (defaults 127.0.0.1, 7007, the best for this OS;
     * {@code --help} lists them). A usage mistake, or a backend that does not run here, prints one
     * line and exits 2; an address it cannot listen on prints one line and exits 1. SIGTERM or
     * SIGINT (Ctrl-C) closes the queue, the listener and every connection, prints a summary and
     * exits 0.
     */
    public static void main(String[] args) throws Exception {
        String best = EventQueues.backends().stream().filter(io.polyplex.BackendInfo::supported)
                .map(io.polyplex.BackendInfo::name).findFirst().orElse("none");
        Cli cli = new Cli(EchoServer.class, java.util.List.of(
                new Cli.Option("--host", "H", "address to listen on", "127.0.0.1"),
                new Cli.Option("--port", "P", "TCP port, 0 picks a free one", "7007"),
                new Cli.Option("--backend", "NAME", "epoll, kqueue, poll or select", "the best that runs here, " + best)));
        String host;
        int port;
        String backend;
        try {
            cli.parse(args);
            if (cli.helpAsked()) {
                System.out.print(cli.usage());
                System.out.flush();
                return;
            }
            host = cli.string("--host", "127.0.0.1");
            port = (int) cli.number("--port", 7007, 0, 65_535);
            backend = cli.string("--backend", null);
        } catch (Cli.UsageException e) {
            cli.exit(Cli.USAGE, e.getMessage());
            return;
        }
        EchoServer server;
        try {
            server = new EchoServer(new InetSocketAddress(host, port), backend);
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            cli.exit(Cli.USAGE, e.getMessage());
            return;
        } catch (IOException e) {
            cli.exit(Cli.CANNOT_LISTEN, "cannot listen: " + e.getMessage());
            return;
        }
        Thread loop = new Thread(server, "polyplex-echo");
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        // SIGTERM and SIGINT (Ctrl-C) run this hook. The JVM would exit 128 + the signal's number
        // (143 for SIGTERM) once it returns; a server that stopped as asked exits 0, so the hook halts
        // with 0 once the loop has closed everything and the summary is printed (as the HTTP demo).
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            try {
                server.stop();
                System.out.printf("stopped: %d connections, %d aborted%n", server.connections, server.abortedWrites);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                System.out.flush();
                System.err.flush();
                Runtime.getRuntime().halt(0);
            }
        }, "polyplex-echo-shutdown"));
        InetSocketAddress at = server.localAddress();
        System.out.printf("echo server on %s:%d (backend %s); try: nc %s %d; Ctrl-C stops it%n",
                at.getHostString(), at.getPort(), server.backend(), at.getHostString(), at.getPort());
        System.out.flush();
        loop.start();
        loop.join();
        if (!stopping.get()) {
            // The loop ended without being asked to (its queue failed): say so, and do not exit 0.
            System.err.println(cli.program() + ": the event loop stopped unexpectedly");
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
    }
}
