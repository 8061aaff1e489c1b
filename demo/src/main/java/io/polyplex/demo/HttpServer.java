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
import java.nio.charset.StandardCharsets;
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
 * A small HTTP/1.1 server on one event-loop thread, built only on the public API: the server of the
 * first report in the brief, written so that a client killed mid-response cannot stop it.
 *
 * <ul>
 *   <li>Accepting: on the loop (the listener is one more socket in the queue, drained until accept
 *       says "would block"), or with {@code acceptThreads > 0} on that many threads blocked in a
 *       {@link BlockingAcceptor}, which hand each connection to the loop and wake it.
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
 */
public final class HttpServer implements Runnable {

    /** Settings; {@code backend} null means the best for this OS. */
    public record Options(String host, int port, String backend, int acceptThreads, boolean edge,
                          int maxConnections, Duration idleTimeout) {
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

    public HttpServer(Options options) throws IOException {
        this.options = options;
        this.server = NativeSockets.listen(new InetSocketAddress(options.host(), options.port()), 1024);
        try {
            this.queue = options.backend() == null ? EventQueues.open(Conn::fd) : EventQueues.open(options.backend(), Conn::fd);
            if (options.edge() && !queue.capabilities().contains(Capability.EDGE_TRIGGERED)) {
                throw new IllegalArgumentException("backend " + queue.backend() + " has no edge-triggered mode");
            }
            this.trigger = options.edge() ? Trigger.EDGE : Trigger.LEVEL;
            this.listener = new Conn(null);
            if (options.acceptThreads() > 0) {
                acceptor = new BlockingAcceptor(server, options.backend());
            } else {
                acceptor = null;
                queue.subscribe(listener, SocketEvent.READ, trigger);
            }
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** Where the server listens. */
    public InetSocketAddress localAddress() throws IOException {
        return NativeSockets.localAddress(server.getFD());
    }

    public String backend() {
        return queue.backend();
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
            try {
                NativeSockets.send(ch.getFD(), ascii("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                        + "Connection: close\r\n\r\n"));
            } catch (IOException e) {
                // the client is gone already (reset while waiting to be accepted): refused either way
            } finally {
                // Closed even when the refusal could not be sent: skipping it leaked one fd per such client.
                try {
                    ch.close();
                } catch (IOException e) {
                    // nothing to do
                }
            }
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
                respond(c, 431, "Request Header Fields Too Large", "request head over " + MAX_HEAD + " bytes\n", false);
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
        if (h.status() != 0) {
            respond(c, h.status(), "Bad Request", h.error(), false);
            return;
        }
        if (!h.method().equals("GET")) {
            respond(c, 405, "Method Not Allowed", "only GET\n", h.keepAlive());
            return;
        }
        switch (h.path()) {
            case "/" -> respond(c, 200, "OK", "hello from polyplex (" + queue.backend() + ")\n", h.keepAlive());
            case "/big" -> big(c, HttpMessages.param(h.query(), "kb", 64), h.keepAlive());
            case "/slow" -> slow(c, HttpMessages.param(h.query(), "ms", 1000), h.keepAlive());
            case "/stats" -> respond(c, 200, "OK", stats(), h.keepAlive());
            default -> respond(c, 404, "Not Found", "no such path\n", h.keepAlive());
        }
    }

    /**
     * The loop's counters as one line of {@code key=value} pairs: what the tests (to know a slow
     * request is being worked on before they hang up) and the soak run (to sample) read.
     */
    private String stats() {
        int slowNow = 0;
        for (Conn x : open) {
            if (x.slow != null) {
                slowNow++;
            }
        }
        return "connections=" + connections.get() + " open=" + open.size() + " requests=" + requests
                + " slowInFlight=" + slowNow + " cancelledSlow=" + cancelledSlow + " halfClosedSlow=" + halfClosedSlow
                + " abortedWrites=" + abortedWrites + " refusedBusy=" + refusedBusy + "\n";
    }

    private void big(Conn c, int kb, boolean keepAlive) throws IOException {
        StringBuilder b = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n")
                .append(keepAlive ? "" : "Connection: close\r\n").append("\r\n");
        byte[] chunk = new byte[1024];
        java.util.Arrays.fill(chunk, (byte) 'x');
        ByteBuffer out = ByteBuffer.allocate(b.length() + kb * (1024 + 8) + 5);
        out.put(b.toString().getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < kb; i++) {
            out.put("400\r\n".getBytes(StandardCharsets.ISO_8859_1)).put(chunk).put((byte) '\r').put((byte) '\n');
        }
        out.put("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)).flip();
        send(c, out, keepAlive);
    }

    private void slow(Conn c, int ms, boolean keepAlive) {
        // Keep watching the socket meanwhile: a reset shows as ERROR and cancels the work.
        c.slow = workers.schedule(() -> wake(() -> {
            if (c.slow != null && !c.closed) {
                c.slow = null;
                try {
                    respond(c, 200, "OK", "slept " + ms + " ms\n", keepAlive);
                    queue.subscribe(c, SocketEvent.READ, trigger);
                } catch (IOException e) {
                    abortedWrites++;
                    drop(c);
                }
            }
        }), ms, TimeUnit.MILLISECONDS);
    }

    /** Runs {@code r} on the loop thread soon: from a worker, hand it over and wake the loop. */
    private void wake(Runnable r) {
        completions.add(r);
        try {
            queue.wakeup();
        } catch (ClosedEventQueueException e) {
            // shutting down: nobody to answer
        }
    }

    private void respond(Conn c, int status, String reason, String body, boolean keepAlive) throws IOException {
        send(c, HttpMessages.response(status, reason, body, keepAlive), keepAlive);
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
    public Summary shutdown(Duration drain) throws InterruptedException {
        if (drainDeadline == 0) {
            drainDeadline = System.nanoTime() + drain.toNanos() | 1;
            if (acceptor != null) {
                acceptor.shutdown();
            }
            try {
                queue.wakeup();
            } catch (ClosedEventQueueException e) {
                // already down
            }
        }
        stopped.await();
        for (Thread t : acceptThreads) {
            t.join(drain.toMillis() + 1000);
        }
        return new Summary(connections.get(), requests, abortedWrites, cancelledSlow, refusedBusy, unfinished);
    }

    /**
     * {@code --host H --port P --backend NAME --accept-threads N --edge --max-connections N
     * --idle-timeout-ms N --drain-ms N}. SIGTERM or SIGINT (Ctrl-C): stop accepting, finish the
     * responses in flight up to the drain deadline, close everything, print the summary, exit 0.
     */
    public static void main(String[] args) throws Exception {
        Options o = Options.defaults();
        String host = o.host();
        int port = o.port();
        String backend = null;
        int acceptThreads = 0;
        boolean edge = false;
        int maxConnections = o.maxConnections();
        Duration idle = o.idleTimeout();
        Duration drain = Duration.ofSeconds(10);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--backend" -> backend = args[++i];
                case "--accept-threads" -> acceptThreads = Integer.parseInt(args[++i]);
                case "--edge" -> edge = true;
                case "--max-connections" -> maxConnections = Integer.parseInt(args[++i]);
                case "--idle-timeout-ms" -> idle = Duration.ofMillis(Long.parseLong(args[++i]));
                case "--drain-ms" -> drain = Duration.ofMillis(Long.parseLong(args[++i]));
                default -> {
                    System.err.println("usage: HttpServer [--host H] [--port P] [--backend epoll|kqueue|poll|select]"
                            + " [--accept-threads N] [--edge] [--max-connections N] [--idle-timeout-ms N] [--drain-ms N]");
                    System.exit(2);
                }
            }
        }
        HttpServer server = new HttpServer(new Options(host, port, backend, acceptThreads, edge, maxConnections, idle));
        CountDownLatch signalled = new CountDownLatch(1);
        for (String name : new String[] {"TERM", "INT"}) {
            // A signal handler, not a shutdown hook: the JVM then exits with our status (0), not 143.
            sun.misc.Signal.handle(new sun.misc.Signal(name), s -> signalled.countDown());
        }
        Thread loop = new Thread(server, "http-loop");
        loop.start();
        InetSocketAddress at = server.localAddress();
        System.out.printf("polyplex http server listening on http://%s:%d/ (backend %s%s%s); Ctrl-C stops it%n",
                at.getHostString(), at.getPort(), server.backend(), edge ? ", edge-triggered" : "",
                acceptThreads > 0 ? ", " + acceptThreads + " accept threads" : "");
        System.out.flush();
        signalled.await();
        Summary summary = server.shutdown(drain);
        loop.join();
        System.out.println("stopped: " + summary);
        System.out.flush();
    }

    private static ByteBuffer ascii(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }
}
