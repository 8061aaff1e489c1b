package io.polyplex.demo;

import io.polyplex.Capability;
import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import io.polyplex.net.BlockingAcceptor;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * A small HTTP/1.1 server on one event-loop thread, built only on the public API, written so that a
 * client killed mid-response cannot stop it. That is a failure real epoll servers shipped: a write to
 * a client that had gone failed with EPIPE, the connection's fd was closed without leaving the
 * epoll set, and an edge-triggered listener was never drained again, so the server stopped
 * accepting for good. Here a failed write removes the connection from the queue, then closes it,
 * and the loop goes on.
 *
 * <ul>
 *   <li>Accepting: on the loop (the listener is one more socket in the queue, drained until accept
 *       says "would block"), or with {@code acceptThreads > 0} on that many threads blocked in a
 *       {@link BlockingAcceptor}, which hand each connection to the loop and wake it.
 *   <li>Listening: TCP ({@code host}, {@code port}), or an AF_UNIX stream socket at {@code unix}
 *       (jnr-unixsocket; see {@link UnixListener} for what happens to a file already at the path).
 *   <li>Routes: {@code /} a short text; {@code /big?kb=N} a chunked body of N KiB; {@code
 *       /slow?ms=N} an answer computed on a worker thread, cancelled as soon as the connection
 *       reports an error (a reset: the loop sees ERROR without reading the socket). A client that
 *       only shuts down its sending side (a FIN, PEER_CLOSED without ERROR) after a complete request
 *       still gets the answer, and the connection is closed after it (nothing more can come).
 *   <li>Keep-alive; limits with clean refusals: at most {@code maxConnections} (503), a request head
 *       over 8 KiB (431), a malformed request (400), connections idle longer than {@code idleTimeout}
 *       are closed.
 *   <li>A write that fails (EPIPE, ECONNRESET) removes the connection from the queue, then closes
 *       it; the loop goes on. Works level- or edge-triggered ({@code edge}).
 *   <li>{@link #shutdown(Duration)}: stop accepting, finish the responses in flight up to the
 *       deadline, close everything, and return the counters.
 * </ul>
 *
 * <p>{@link #main} with {@code --virtual-threads} runs a {@link VirtualThreadServer} instead: a
 * virtual thread per connection, with the same routes ({@link Routes}), limits, counters and
 * shutdown.
 */
public final class HttpServer implements Runnable, HttpService {

    /**
     * Settings; {@code backend} null means the best for this OS; {@code unix} non-null listens on an
     * AF_UNIX socket at that path instead of {@code host} and {@code port}.
     */
    public record Options(String host, int port, String backend, int acceptThreads, boolean edge,
                          int maxConnections, Duration idleTimeout, Path unix) {
        /** TCP settings. */
        public Options(String host, int port, String backend, int acceptThreads, boolean edge,
                       int maxConnections, Duration idleTimeout) {
            this(host, port, backend, acceptThreads, edge, maxConnections, idleTimeout, null);
        }

        public static Options defaults() {
            return new Options("127.0.0.1", 8080, null, 0, false, 10_000, Duration.ofSeconds(60));
        }
    }

    /** What happened, printed at shutdown. */
    public record Summary(long connections, long requests, long abortedWrites, long cancelledSlow,
                          long refusedBusy, long unfinishedAtDeadline) {
        @Override
        public String toString() {
            return "connections=" + connections + " requests=" + requests + " abortedWrites=" + abortedWrites
                    + " cancelledSlow=" + cancelledSlow + " refusedBusy=" + refusedBusy
                    + " unfinishedAtDeadline=" + unfinishedAtDeadline;
        }
    }

    static final int MAX_HEAD = 8 * 1024;
    static final int BACKLOG = 1024;
    private static final Duration TICK = Duration.ofMillis(250);

    /** The queue watches the listener and connections; a Conn with channel null is the listener. */
    private final class Conn {
        final NativeSocketChannel channel;
        /** Direct: recv then writes straight into it (a heap buffer is copied whole, in and out). */
        final ByteBuffer in = ByteBuffer.allocateDirect(MAX_HEAD);
        ByteBuffer out;
        /** Waiting for WRITE with READ disabled, because the peer was slow to take a response. */
        boolean writeArmed;
        boolean keepAlive = true;
        Future<?> slow;
        /** The client shut down its sending side while its slow answer was being worked on. */
        boolean halfClosed;
        boolean closed;
        long lastActive = System.nanoTime();

        Conn(NativeSocketChannel channel) {
            this.channel = channel;
        }

        int fd() {
            return channel == null ? server.getFD() : channel.getFD();
        }
    }

    private final Options options;
    private final NativeServerSocketChannel server;
    /** The AF_UNIX listener's path and file, or null on TCP. */
    private final UnixListener unix;
    private final EventQueue<Conn> queue;
    private final Trigger trigger;
    private final Conn listener;
    private final BlockingAcceptor acceptor;
    private final List<Thread> acceptThreads = new ArrayList<>();
    private final ConcurrentLinkedQueue<NativeSocketChannel> handedOver = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> completions = new ConcurrentLinkedQueue<>();
    private final java.util.Set<Conn> open = new java.util.LinkedHashSet<>();
    private final ScheduledExecutorService workers = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "http-worker");
        t.setDaemon(true);
        return t;
    });
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile long drainDeadline; // 0: serving
    private long lastIdleScan;
    /** The clock when the current poll began, read once per poll rather than once per event. */
    private long loopTime;
    private final io.polyplex.SocketEventHandler<Conn> onEvent = this::onEvent;
    private final AtomicLong connections = new AtomicLong();
    private long requests;
    private long abortedWrites;
    private long cancelledSlow;
    private long refusedBusy;
    private long halfClosedSlow;
    private long unfinished;

    /**
     * Opens the queue, then listens. The settings are checked first, so a wrong backend or mode is
     * reported even when the address is taken too.
     *
     * @throws IllegalArgumentException if the backend is unknown, or {@code edge} is asked of a
     *     backend without an edge-triggered mode
     * @throws UnsupportedOperationException if the backend does not run on this OS
     * @throws IOException if the server cannot listen (address in use, a file in the way of the Unix
     *     socket, ...), naming the address
     */
    public HttpServer(Options options) throws IOException {
        this.options = options;
        this.queue = options.backend() == null ? EventQueues.open(Conn::fd) : EventQueues.open(options.backend(), Conn::fd);
        try {
            if (options.edge() && !queue.capabilities().contains(Capability.EDGE_TRIGGERED)) {
                throw new IllegalArgumentException("backend " + queue.backend()
                        + " has no edge-triggered mode (epoll and kqueue have one)");
            }
            this.trigger = options.edge() ? Trigger.EDGE : Trigger.LEVEL;
            this.listener = new Conn(null);
            if (options.unix() != null) {
                unix = UnixListener.open(options.unix(), BACKLOG);
                server = unix.channel();
            } else {
                unix = null;
                server = NativeSockets.listen(new InetSocketAddress(options.host(), options.port()), BACKLOG);
            }
        } catch (IOException | RuntimeException e) {
            queue.close();
            throw e;
        }
        try {
            if (options.acceptThreads() > 0) {
                // BlockingAcceptor takes any jnr-enxio listener: a UnixServerSocketChannel is one.
                acceptor = new BlockingAcceptor(server, options.backend());
            } else {
                acceptor = null;
                queue.subscribe(listener, SocketEvent.READ, trigger);
            }
        } catch (IOException | RuntimeException e) {
            queue.close();
            server.close();
            if (unix != null) {
                unix.removeFile();
            }
            throw e;
        }
    }

    /**
     * The server for {@code options}: this event loop, or with {@code virtualThreads} a {@link
     * VirtualThreadServer}. Run it on a thread of its own; it serves until shut down.
     *
     * @throws UnsupportedOperationException with {@code virtualThreads} before JDK 21; a backend
     *     that does not run on this OS
     * @throws IllegalArgumentException an unknown backend, or {@code edge} where it does not apply
     * @throws IOException if the server cannot listen, naming the address
     */
    static HttpService open(Options options, boolean virtualThreads) throws IOException {
        return virtualThreads ? new VirtualThreadServer(options) : new HttpServer(options);
    }

    /**
     * Where the server listens, on TCP.
     *
     * @throws IllegalStateException if it listens on a Unix socket (see {@link #where()})
     */
    @Override
    public InetSocketAddress localAddress() throws IOException {
        return localAddress(unix, server);
    }

    /** Where the server listens, for people: {@code http://127.0.0.1:8080/} or {@code unix:/path}. */
    @Override
    public String where() throws IOException {
        return where(unix, server);
    }

    @Override
    public String backend() {
        return queue.backend();
    }

    /** {@link #localAddress()} for either mode. */
    static InetSocketAddress localAddress(UnixListener unix, NativeServerSocketChannel server) throws IOException {
        if (unix != null) {
            throw new IllegalStateException("listening on the Unix socket " + unix.path() + ", not on TCP");
        }
        return ((InetSocketAddress) NativeSockets.localAddress(server.getFD()));
    }

    /** {@link #where()} for either mode. */
    static String where(UnixListener unix, NativeServerSocketChannel server) throws IOException {
        if (unix != null) {
            return "unix:" + unix.path();
        }
        InetSocketAddress at = localAddress(unix, server);
        String host = at.getAddress() instanceof java.net.Inet6Address ? "[" + at.getHostString() + "]" : at.getHostString();
        return "http://" + host + ":" + at.getPort() + "/";
    }

    /** The event loop; returns after {@link #shutdown(Duration)}. */
    @Override
    public void run() {
        for (int i = 0; i < options.acceptThreads(); i++) {
            Thread t = new Thread(this::acceptLoop, "http-accept-" + i);
            acceptThreads.add(t);
            t.start();
        }
        try {
            while (true) {
                loopTime = System.nanoTime();
                queue.poll(TICK, onEvent);
                adoptHandedOver();
                for (Runnable r; (r = completions.poll()) != null; ) {
                    r.run();
                }
                long now = System.nanoTime();
                closeIdle(now);
                if (drainDeadline != 0) {
                    stopListening();
                    if (inFlight() == 0 || now - drainDeadline > 0) {
                        break;
                    }
                }
            }
        } catch (ClosedEventQueueException | IOException e) {
            // closed under us: fall through to the cleanup
        } finally {
            unfinished = inFlight();
            for (Conn c : new ArrayList<>(open)) {
                drop(c);
            }
            workers.shutdownNow();
            queue.close();
            try {
                server.close();
            } catch (IOException e) {
                // nothing to do
            }
            if (unix != null) {
                unix.removeFile(); // on every way out: shutdown, SIGTERM (through the hook), a failure
            }
            stopped.countDown();
        }
    }

    /** Draining: the listener leaves the queue and closes, so new clients are refused by the kernel. */
    private void stopListening() throws IOException {
        if (acceptor == null && server.isOpen()) {
            queue.remove(listener);
            server.close();
        }
    }

    private void acceptLoop() {
        try {
            for (NativeSocketChannel c; (c = acceptor.accept()) != null; ) {
                handedOver.add(c);
                queue.wakeup();
            }
        } catch (IOException | ClosedEventQueueException e) {
            // shutting down
        }
    }

    private void adoptHandedOver() {
        for (NativeSocketChannel c; (c = handedOver.poll()) != null; ) {
            adopt(c);
        }
    }

    private int inFlight() {
        int n = 0;
        for (Conn c : open) {
            if (c.slow != null || c.out != null && c.out.hasRemaining()) {
                n++;
            }
        }
        return n;
    }

    private void closeIdle(long now) {
        long limit = options.idleTimeout().toNanos();
        if (now - lastIdleScan < TICK.toNanos() && drainDeadline == 0) {
            return;
        }
        lastIdleScan = now;
        for (Conn c : new ArrayList<>(open)) {
            boolean idle = c.slow == null && (c.out == null || !c.out.hasRemaining());
            if (idle && (now - c.lastActive > limit || drainDeadline != 0)) {
                drop(c);
            }
        }
    }

    private void onEvent(Conn c, int ops) {
        if (c == listener) {
            acceptAll();
            return;
        }
        c.lastActive = loopTime; // when this poll began: precise enough for an idle timeout
        try {
            if (c.slow != null) {
                if ((ops & SocketEvent.ERROR) != 0) {
                    c.slow.cancel(true); // a reset: the client is gone, stop working for nobody
                    cancelledSlow++;
                    drop(c);
                    return;
                }
                if ((ops & SocketEvent.PEER_CLOSED) != 0 && !c.halfClosed) {
                    // A FIN after a complete request: the client shut down its sending side and may
                    // still read (the HTTP WG: a half-close neither ends a request nor says the client
                    // lost interest, httpwg/http-core#22). Keep working; the end of stream is read
                    // after the answer, and the connection closes then.
                    c.halfClosed = true;
                    halfClosedSlow++;
                }
                // Pipelined data, or the end of stream, waits until the answer is out. Out of the
                // interest set meanwhile, so a later reset is noticed when the answer is written.
                queue.disableRead(c);
                return;
            }
            if ((ops & SocketEvent.WRITE) != 0) {
                flush(c);
            }
            if ((ops & SocketEvent.READ) != 0 && !c.closed) {
                readRequests(c);
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
                ch = NativeSockets.accept(server);
            } catch (IOException e) {
                return; // EMFILE and friends: the next poll tries again
            }
            if (ch == null) {
                return;
            }
            adopt(ch);
        }
    }

    private void adopt(NativeSocketChannel ch) {
        connections.incrementAndGet();
        if (drainDeadline != 0 || open.size() >= options.maxConnections()) {
            refusedBusy++;
            Routes.refuse(ch);
            return;
        }
        Conn c = new Conn(ch);
        try {
            queue.subscribe(c, SocketEvent.READ, trigger);
            open.add(c);
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /** Reads until the socket is empty (edge-triggered needs it), answering each complete head. */
    private void readRequests(Conn c) throws IOException {
        while (!c.closed && c.slow == null && (c.out == null || !c.out.hasRemaining())) {
            int head = HttpMessages.headEnd(c.in);
            if (head >= 0) {
                answer(c, head);
                continue;
            }
            if (!c.in.hasRemaining()) {
                send(c, Routes.tooLarge(), false);
                return;
            }
            int n = NativeSockets.recv(c.fd(), c.in);
            if (n < 0) {
                drop(c); // the client closed between requests
                return;
            }
            if (n == 0) {
                return;
            }
        }
    }

    private void answer(Conn c, int headLength) throws IOException {
        HttpMessages.Head h = HttpMessages.take(c.in, headLength);
        requests++;
        Routes.Reply reply = Routes.route(h, queue.backend(), this::stats);
        if (reply instanceof Routes.Slow slow) {
            slow(c, slow);
        } else {
            send(c, ((Routes.Send) reply).bytes(), reply.keepAlive());
        }
    }

    /** The loop's counters for /stats (see {@link Routes.Stats}). */
    private Routes.Stats stats() {
        int slowNow = 0;
        for (Conn x : open) {
            if (x.slow != null) {
                slowNow++;
            }
        }
        return new Routes.Stats(connections.get(), open.size(), requests, slowNow, cancelledSlow, halfClosedSlow,
                abortedWrites, refusedBusy);
    }

    private void slow(Conn c, Routes.Slow work) {
        // Keep watching the socket meanwhile: a reset shows as ERROR and cancels the work.
        c.slow = workers.schedule(() -> wake(() -> {
            if (c.slow != null && !c.closed) {
                c.slow = null;
                try {
                    send(c, work.answer(), work.keepAlive());
                    queue.subscribe(c, SocketEvent.READ, trigger);
                } catch (IOException e) {
                    abortedWrites++;
                    drop(c);
                }
            }
        }), work.ms(), TimeUnit.MILLISECONDS);
    }

    /** Runs {@code r} on the loop thread soon: from a worker, hand it over and wake the loop. */
    private void wake(Runnable r) {
        completions.add(r);
        queue.wakeup(); // a no-op once the queue is closed: shutting down, nobody to answer
    }

    private void send(Conn c, ByteBuffer out, boolean keepAlive) throws IOException {
        c.out = out;
        c.keepAlive = keepAlive;
        flush(c);
    }

    /** Writes what is pending; backs off to write interest when the peer is slow. */
    private void flush(Conn c) throws IOException {
        ByteBuffer out = c.out;
        if (out == null) {
            return;
        }
        while (out.hasRemaining()) {
            if (NativeSockets.send(c.fd(), out) == 0) {
                if (!c.writeArmed) {
                    queue.subscribe(c, SocketEvent.WRITE, trigger);
                    queue.disableRead(c);
                    c.writeArmed = true;
                }
                return;
            }
        }
        c.out = null;
        if (!c.keepAlive) {
            drop(c);
            return;
        }
        if (c.writeArmed) {
            // Back to reading; in steady state (the response went out at once) no queue call at all.
            queue.disableWrite(c);
            queue.subscribe(c, SocketEvent.READ, trigger);
            c.writeArmed = false;
        }
    }

    /** Removes before closing, so the fd leaves the queue before its number can be reused. */
    private void drop(Conn c) {
        if (c.closed) {
            return;
        }
        c.closed = true;
        open.remove(c);
        if (c.slow != null) {
            c.slow.cancel(true);
        }
        try {
            queue.remove(c);
        } catch (IOException | ClosedEventQueueException e) {
            // closing anyway
        }
        try {
            c.channel.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    /**
     * Stops accepting, lets the responses in flight finish until {@code drain} has passed, closes
     * everything, and returns the counters. Callable from any thread (a shutdown hook); idempotent.
     */
    @Override
    public Summary shutdown(Duration drain) throws InterruptedException {
        if (drainDeadline == 0) {
            drainDeadline = System.nanoTime() + drain.toNanos() | 1;
            if (acceptor != null) {
                acceptor.shutdown();
            }
            queue.wakeup(); // a no-op if the loop is already down
        }
        stopped.await();
        for (Thread t : acceptThreads) {
            t.join(drain.toMillis() + 1000);
        }
        return new Summary(connections.get(), requests, abortedWrites, cancelledSlow, refusedBusy, unfinished);
    }

    /** The command line: every option with its default (the README lists the same). */
    private static Cli cli() {
        Options d = Options.defaults();
        String best = EventQueues.backends().stream().filter(io.polyplex.BackendInfo::supported)
                .map(io.polyplex.BackendInfo::name).findFirst().orElse("none");
        return new Cli(HttpServer.class, List.of(
                new Cli.Option("--host", "H", "address to listen on", d.host()),
                new Cli.Option("--port", "P", "TCP port, 0 picks a free one", Integer.toString(d.port())),
                new Cli.Option("--unix", "PATH", "listen on an AF_UNIX socket at PATH instead of TCP", "off"),
                new Cli.Option("--backend", "NAME", "epoll, kqueue, poll or select", "the best that runs here, " + best),
                new Cli.Option("--accept-threads", "N", "threads blocked in accept that hand connections to the loop;"
                        + " 0 accepts on the loop; with --virtual-threads, N virtual threads accept (0: one)",
                        Integer.toString(d.acceptThreads())),
                new Cli.Option("--edge", null, "edge-triggered (epoll and kqueue only; not with --virtual-threads)",
                        "level-triggered"),
                new Cli.Option("--virtual-threads", null, "a virtual thread per connection, parked in a ParkingPoller,"
                        + " instead of the event loop (JDK 21 or newer)", "off, one event-loop thread"),
                new Cli.Option("--max-connections", "N", "connections beyond N are answered 503",
                        Integer.toString(d.maxConnections())),
                new Cli.Option("--idle-timeout-ms", "N", "close connections idle this long",
                        Long.toString(d.idleTimeout().toMillis())),
                new Cli.Option("--drain-ms", "N", "on SIGTERM or SIGINT, how long responses in flight may take to finish",
                        Long.toString(DEFAULT_DRAIN.toMillis()))));
    }

    private static final Duration DEFAULT_DRAIN = Duration.ofSeconds(10);
    /** Durations in ms up to this fit Duration.toNanos. */
    private static final long MAX_MS = Long.MAX_VALUE / 1_000_000;

    /**
     * Runs the server with the options {@link #cli()} lists ({@code --help} prints them). A usage
     * mistake, or a backend or mode that does not run here, prints one line and exits 2; an address
     * it cannot listen on prints one line naming it and the errno, and exits 1. SIGTERM or SIGINT
     * (Ctrl-C): stop accepting, finish the responses in flight up to the drain deadline, close
     * everything (removing the Unix socket file), print the summary, exit 0. The same in both modes:
     * the event loop, or {@code --virtual-threads} (JDK 21 or newer; before, one line and exit 2).
     */
    public static void main(String[] args) throws Exception {
        Cli cli = cli();
        Options o;
        Duration drain;
        boolean virtualThreads;
        try {
            cli.parse(args);
            if (cli.helpAsked()) {
                System.out.print(cli.usage());
                System.out.flush();
                return;
            }
            Options d = Options.defaults();
            Path unixPath = null;
            if (cli.has("--unix")) {
                if (cli.has("--host") || cli.has("--port")) {
                    throw new Cli.UsageException("--unix listens on a path: it cannot be combined with --host or --port");
                }
                if (cli.string("--unix", "").isEmpty()) {
                    throw new Cli.UsageException("--unix needs a non-empty path");
                }
                unixPath = Path.of(cli.string("--unix", ""));
            }
            o = new Options(cli.string("--host", d.host()), (int) cli.number("--port", d.port(), 0, 65_535),
                    cli.string("--backend", null), (int) cli.number("--accept-threads", 0, 0, 1024), cli.has("--edge"),
                    (int) cli.number("--max-connections", d.maxConnections(), 1, Integer.MAX_VALUE),
                    Duration.ofMillis(cli.number("--idle-timeout-ms", d.idleTimeout().toMillis(), 1, MAX_MS)), unixPath);
            drain = Duration.ofMillis(cli.number("--drain-ms", DEFAULT_DRAIN.toMillis(), 0, MAX_MS));
            virtualThreads = cli.has("--virtual-threads");
        } catch (Cli.UsageException e) {
            cli.exit(Cli.USAGE, e.getMessage());
            return;
        }
        HttpService server;
        try {
            server = open(o, virtualThreads);
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // an unknown backend, one that does not run here, --edge without it or with --virtual-threads,
            // --virtual-threads before JDK 21
            cli.exit(Cli.USAGE, e.getMessage());
            return;
        } catch (IOException e) {
            cli.exit(Cli.CANNOT_LISTEN, "cannot listen: " + e.getMessage());
            return;
        }
        Thread loop = new Thread(server, virtualThreads ? "http-main" : "http-loop");
        loop.start();
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        // SIGTERM, SIGINT and SIGHUP start the JVM's shutdown, which runs this hook (public API, unlike
        // sun.misc.Signal). The JVM would then exit 128 + the signal's number (143) once the hooks
        // return; halting from the hook once everything is drained and printed exits 0 instead.
        // Halting skips hooks that have not finished (the demo registers no other).
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            try {
                Summary summary = server.shutdown(drain);
                loop.join();
                System.out.println("stopped: " + summary);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                System.out.flush();
                System.err.flush();
                Runtime.getRuntime().halt(0);
            }
        }, "http-shutdown"));
        System.out.printf("polyplex http server listening on %s (backend %s%s%s); Ctrl-C stops it%n",
                server.where(), server.backend(), virtualThreads ? ", a virtual thread per connection"
                        : o.edge() ? ", edge-triggered" : "",
                o.acceptThreads() > 0 ? ", " + o.acceptThreads() + " accept threads" : "");
        System.out.flush();
        loop.join();
        if (!stopping.get()) {
            // The loop ended without being asked to (its queue failed): say so, and do not exit 0.
            System.err.println(cli.program() + ": the " + (virtualThreads ? "server" : "event loop") + " stopped unexpectedly");
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
    }
}
