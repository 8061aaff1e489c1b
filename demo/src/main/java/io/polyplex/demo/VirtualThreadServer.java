package io.polyplex.demo;

import io.polyplex.ParkingPoller;
import io.polyplex.SocketEvent;
import io.polyplex.net.BlockingAcceptor;
import io.polyplex.net.BlockingSockets;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * The demo HTTP server with a virtual thread per connection ({@code --virtual-threads}, JDK 21 and
 * later): the routes ({@link Routes}), limits, keep-alive, counters and shutdown of {@link
 * HttpServer}'s event loop, written the blocking way over the same native sockets. No native call
 * blocks a virtual thread: every wait parks in a {@link ParkingPoller}, whose few platform threads
 * watch the fds, so no carrier is ever pinned by a client that is slow to send or to read.
 *
 * <ul>
 *   <li>Accepting: {@code max(1, acceptThreads)} virtual threads park in a {@link BlockingAcceptor}
 *       (its own poller, never accept(2) on a blocking fd), over TCP or the {@code --unix} socket.
 *       Each connection within {@code maxConnections} gets a virtual thread; one beyond it (or
 *       arriving while draining) gets the 503 at once and is closed.
 *   <li>A connection's thread reads a request head with {@link BlockingSockets#read} under the idle
 *       timeout (a timeout closes the connection), answers with {@link BlockingSockets#write} (all of
 *       it; no time limit while the client keeps the connection, as the event loop never drops a
 *       connection with a response in flight), and goes on with the next request while the client
 *       keeps the connection alive. 431, 400 and {@code Connection: close} end it after the answer.
 *   <li>{@code /slow}: the work runs on the connection's own thread (an interruptible sleep, as the
 *       event loop's worker does); meanwhile a second virtual thread watches the socket with {@link
 *       ParkingPoller#awaitReadable}, which ends early on PEER_CLOSED and ERROR. ERROR (a reset), or
 *       ECONNRESET while it reads ahead, cancels the work by interrupting it ({@code cancelledSlow});
 *       PEER_CLOSED without ERROR (a FIN after a complete request) is counted once per connection
 *       ({@code halfClosedSlow}) and stops the watching: the answer still goes out, then the
 *       connection reads its end of stream and closes. Pipelined bytes that arrive meanwhile are
 *       read into the connection's buffer and answered afterwards; once the buffer is full watching
 *       stops too (the event loop stops reading then), and a later reset shows when the answer is
 *       written ({@code abortedWrites}), as in the event loop.
 *   <li>{@link #shutdown(Duration)}: stop accepting (the acceptor closes the listener and, on
 *       {@code --unix}, the socket file is removed at the end), close the connections waiting for a
 *       request (their thread is interrupted out of its read), let those answering finish (then
 *       they close instead of reading on) until the deadline; past it, the poller is closed (every
 *       wait ends at once) and every connection's thread interrupted; those still answering are
 *       counted as {@code unfinishedAtDeadline}.
 * </ul>
 */
final class VirtualThreadServer implements HttpService {

    /** A connection's state: started, waiting for a request, answering one, or closing. */
    private static final int NEW = 0;
    private static final int IDLE = 1;
    private static final int BUSY = 2;
    private static final int CLOSING = 3;
    /** {@link Conn#readHead()}'s outcomes other than a head's length. */
    private static final int END = -1;
    private static final int TOO_LARGE = -2;
    /** Slow work's outcome, decided once: by the working thread (done, or stopped) or by the watcher. */
    private static final int WORKING = 0;
    private static final int DONE = 1;
    private static final int CANCELLED = 2;
    /** How long an accept thread waits after an accept(2) error before it tries again. */
    private static final long ACCEPT_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** How long the threads get to end once the drain deadline has passed and their waits ended. */
    private static final Duration STRAGGLERS = Duration.ofSeconds(5);

    private final HttpServer.Options options;
    private final ParkingPoller poller;
    private final BlockingSockets sockets;
    private final NativeServerSocketChannel server;
    /** The AF_UNIX listener's path and file, or null on TCP. */
    private final UnixListener unix;
    private final BlockingAcceptor acceptor;
    private final ThreadFactory acceptThreads;
    private final ThreadFactory connectionThreads;
    private final ThreadFactory watcherThreads;
    private final List<Thread> acceptors = new ArrayList<>();
    private final Set<Conn> open = ConcurrentHashMap.newKeySet();
    /** Connections holding a place under maxConnections: in {@link #open}, or about to be. */
    private final AtomicInteger places = new AtomicInteger();
    private final AtomicInteger slowInFlight = new AtomicInteger();
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong abortedWrites = new AtomicLong();
    private final AtomicLong cancelledSlow = new AtomicLong();
    private final AtomicLong halfClosedSlow = new AtomicLong();
    private final AtomicLong refusedBusy = new AtomicLong();
    /** Signalled when the last connection closes while draining. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition allClosed = lock.newCondition();
    private final AtomicBoolean shutdownAsked = new AtomicBoolean();
    private final CountDownLatch drainAsked = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean draining;
    private volatile long drainDeadline;
    private volatile long unfinished;

    /**
     * Opens the poller, then listens. The settings are checked first, so a JDK without virtual
     * threads, {@code edge} or a wrong backend is reported even when the address is taken too.
     *
     * @throws UnsupportedOperationException before JDK 21, or if the backend does not run on this OS
     * @throws IllegalArgumentException if the backend is unknown, or {@code edge} is asked (it is the
     *     event loop's trigger mode: here threads park in one-shot waits)
     * @throws IOException if the server cannot listen, naming the address or path
     */
    VirtualThreadServer(HttpServer.Options options) throws IOException {
        this.options = options;
        String why = VirtualThreads.unavailableReason();
        if (why != null) {
            throw new UnsupportedOperationException(why);
        }
        if (options.edge()) {
            throw new IllegalArgumentException("--edge is the event loop's trigger mode; with --virtual-threads"
                    + " threads park in one-shot waits: leave out one of them");
        }
        this.acceptThreads = VirtualThreads.factory("http-accept-");
        this.connectionThreads = VirtualThreads.factory("http-conn-");
        this.watcherThreads = VirtualThreads.factory("http-watch-");
        this.poller = ParkingPoller.open(options.backend(), ParkingPoller.defaultPollers());
        this.sockets = new BlockingSockets(poller);
        try {
            if (options.unix() != null) {
                unix = UnixListener.open(options.unix(), HttpServer.BACKLOG);
                server = unix.channel();
            } else {
                unix = null;
                server = NativeSockets.listen(new InetSocketAddress(options.host(), options.port()), HttpServer.BACKLOG);
            }
        } catch (IOException | RuntimeException e) {
            poller.close();
            throw e;
        }
        try {
            acceptor = new BlockingAcceptor(server, options.backend());
        } catch (IOException | RuntimeException e) {
            poller.close();
            server.close();
            if (unix != null) {
                unix.removeFile();
            }
            throw e;
        }
    }

    @Override
    public InetSocketAddress localAddress() throws IOException {
        return HttpServer.localAddress(unix, server);
    }

    @Override
    public String where() throws IOException {
        return HttpServer.where(unix, server);
    }

    @Override
    public String backend() {
        return poller.backend();
    }

    /** Starts the accepting threads, then waits for {@link #shutdown(Duration)} and drains. */
    @Override
    public void run() {
        for (int i = 0; i < Math.max(1, options.acceptThreads()); i++) {
            Thread t = acceptThreads.newThread(this::acceptLoop);
            acceptors.add(t);
            t.start();
        }
        Thread sweeper = new Thread(this::sweepIdle, "http-idle-sweeper");
        sweeper.setDaemon(true);
        sweeper.start();
        boolean interrupted = false;
        try {
            drainAsked.await();
            drain();
        } catch (InterruptedException e) {
            interrupted = true; // whoever runs the server wants it to stop now: no drain
        } finally {
            draining = true;
            sweeper.interrupt();
            acceptor.shutdown();
            unfinished = busy();
            poller.close(); // every wait ends (ClosedParkingPollerException), every later one too
            for (Conn c : open) {
                c.thread.interrupt(); // ends slow work; the threads then close their connections
            }
            if (!interrupted) {
                try {
                    awaitClosed(System.nanoTime() + STRAGGLERS.toNanos());
                    acceptor.awaitTermination(STRAGGLERS); // the accept threads left; the listener is closed
                    for (Thread t : acceptors) {
                        t.join(STRAGGLERS.toMillis());
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (unix != null) {
                unix.removeFile();
            }
            stopped.countDown();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Closes connections idle longer than the idle timeout, as the event loop's sweep does: checked
     * every quarter of the timeout (at most every second), so one is closed between the timeout and
     * a quarter of it later. Runs until the drain starts.
     */
    private void sweepIdle() {
        long timeout = options.idleTimeout().toNanos();
        long period = Math.max(1, Math.min(TimeUnit.SECONDS.toMillis(1), TimeUnit.NANOSECONDS.toMillis(timeout) / 4));
        try {
            while (!draining) {
                Thread.sleep(period);
                long now = System.nanoTime();
                for (Conn c : open) {
                    if (now - c.lastActive > timeout) {
                        c.closeIfIdle();
                    }
                }
            }
        } catch (InterruptedException e) {
            // the server is stopping
        }
    }

    /** Closes the connections waiting for a request; waits for the others until the deadline. */
    private void drain() throws InterruptedException {
        for (Conn c : open) {
            c.closeIfIdle();
        }
        awaitClosed(drainDeadline);
    }

    /** Waits until every connection has closed, or {@code deadline} (System.nanoTime) has passed. */
    private void awaitClosed(long deadline) throws InterruptedException {
        lock.lock();
        try {
            while (places.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                allClosed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Connections answering a request now. */
    private int busy() {
        int n = 0;
        for (Conn c : open) {
            if (c.state.get() == BUSY) {
                n++;
            }
        }
        return n;
    }

    private void acceptLoop() {
        while (true) {
            NativeSocketChannel ch;
            try {
                ch = acceptor.accept();
            } catch (InterruptedIOException e) {
                return; // nobody interrupts these threads but to stop them
            } catch (IOException e) {
                if (acceptor.isShutdown()) {
                    return;
                }
                // accept(2) failed (ENOBUFS, a firewall's EPERM, ...): the listener is still good
                LockSupport.parkNanos(ACCEPT_RETRY_NANOS);
                continue;
            }
            if (ch == null) {
                return; // shut down
            }
            admit(ch);
        }
    }

    /** Gives an accepted connection its thread, or the 503 if over the limit or draining. */
    private void admit(NativeSocketChannel ch) {
        connections.incrementAndGet();
        // The place is taken before draining is read, and the drain sets draining before it counts
        // places: either this sees draining, or the drain waits for this connection.
        if (!takePlace()) {
            refuse(ch);
            return;
        }
        if (draining) {
            releasePlace();
            refuse(ch);
            return;
        }
        Conn c = new Conn(ch);
        c.thread = connectionThreads.newThread(c);
        open.add(c);
        c.thread.start();
    }

    private boolean takePlace() {
        while (true) {
            int n = places.get();
            if (n >= options.maxConnections()) {
                return false;
            }
            if (places.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    private void releasePlace() {
        if (places.decrementAndGet() == 0 && draining) {
            lock.lock();
            try {
                allClosed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** The 503, sent once without waiting, then closed even if it could not be sent. */
    private void refuse(NativeSocketChannel ch) {
        refusedBusy.incrementAndGet();
        Routes.refuse(ch);
    }

    private Routes.Stats stats() {
        return new Routes.Stats(connections.get(), places.get(), requests.get(), slowInFlight.get(), cancelledSlow.get(),
                halfClosedSlow.get(), abortedWrites.get(), refusedBusy.get());
    }

    @Override
    public HttpServer.Summary shutdown(Duration drain) throws InterruptedException {
        if (shutdownAsked.compareAndSet(false, true)) {
            drainDeadline = System.nanoTime() + drain.toNanos();
            draining = true;
            acceptor.shutdown(); // accept() returns null in every accept thread; the listener closes
            drainAsked.countDown();
        }
        stopped.await();
        return new HttpServer.Summary(connections.get(), requests.get(), abortedWrites.get(), cancelledSlow.get(),
                refusedBusy.get(), unfinished);
    }

    /** One connection and its virtual thread. */
    private final class Conn implements Runnable {
        final NativeSocketChannel channel;
        /** Direct: recv writes straight into it. Owned by the watcher while slow work runs. */
        final ByteBuffer in = ByteBuffer.allocateDirect(HttpServer.MAX_HEAD);
        final AtomicInteger state = new AtomicInteger(NEW);
        /** Set before the connection is published in {@link #open}. */
        Thread thread;
        /** A FIN was seen during slow work: counted once per connection, as in the event loop. */
        volatile boolean halfClosed;
        /** When the connection last read something or became idle (System.nanoTime), for the sweeper. */
        volatile long lastActive = System.nanoTime();

        Conn(NativeSocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public void run() {
            try {
                serve();
            } catch (SocketTimeoutException e) {
                // idle longer than the idle timeout: closed, as the event loop closes idle connections
            } catch (InterruptedIOException | AsynchronousCloseException e) { // ClosedParkingPollerException too
                // shutting down: an idle connection closed by the drain, or anything left at its deadline
            } catch (IOException e) {
                abortedWrites.incrementAndGet(); // EPIPE, ECONNRESET: the client is gone (counted as the loop does)
            } finally {
                close();
            }
        }

        private void serve() throws IOException {
            while (true) {
                lastActive = System.nanoTime();
                state.set(IDLE); // only the drain and the idle sweeper change it meanwhile, only from IDLE
                if (draining) {
                    return; // published IDLE before reading draining: the drain cannot miss this one
                }
                int head = readHead();
                if (head == END || !state.compareAndSet(IDLE, BUSY)) {
                    return; // the client closed, or the drain closed this connection
                }
                if (head == TOO_LARGE) {
                    sockets.write(channel, Routes.tooLarge(), null);
                    return;
                }
                HttpMessages.Head h = HttpMessages.take(in, head);
                requests.incrementAndGet();
                Routes.Reply reply = Routes.route(h, poller.backend(), VirtualThreadServer.this::stats);
                ByteBuffer out;
                if (reply instanceof Routes.Slow slow) {
                    if (!work(slow)) {
                        return; // cancelled by a reset, or stopped at the drain deadline
                    }
                    out = slow.answer();
                } else {
                    out = ((Routes.Send) reply).bytes();
                }
                sockets.write(channel, out, null);
                if (!reply.keepAlive()) {
                    return;
                }
            }
        }

        /** The next request head's length, {@link #END} at end of stream, or {@link #TOO_LARGE}. */
        private int readHead() throws IOException {
            while (true) {
                int head = HttpMessages.headEnd(in);
                if (head >= 0) {
                    return head;
                }
                if (!in.hasRemaining()) {
                    return TOO_LARGE;
                }
                // No timeout here: a timed park schedules a timer on every read, which cost this mode
                // almost half its throughput; the idle sweeper closes idle connections instead.
                if (sockets.read(channel, in, null) < 0) {
                    return END;
                }
                lastActive = System.nanoTime();
            }
        }

        /**
         * Does {@code /slow}'s work on this thread while a watcher thread watches the socket.
         *
         * @return true if the work is done and the answer is to be sent; false if a reset cancelled
         *     it or the drain deadline stopped it
         */
        private boolean work(Routes.Slow slow) {
            Watch watch = new Watch(this, Thread.currentThread());
            Thread watcher = watcherThreads.newThread(watch);
            slowInFlight.incrementAndGet();
            try {
                watcher.start();
                try {
                    Thread.sleep(slow.ms()); // the work
                } catch (InterruptedException e) {
                    // a reset (the watcher cancelled it) or the drain deadline: no answer either way
                    watch.outcome.compareAndSet(WORKING, DONE);
                    return false;
                }
                // Done, unless the watcher cancelled it at the last moment: the client is gone then.
                return watch.outcome.compareAndSet(WORKING, DONE);
            } finally {
                watcher.interrupt(); // ends its wait if it still watches
                joinUninterruptibly(watcher); // it no longer reads into the buffer
                slowInFlight.decrementAndGet();
            }
        }

        /** Closes at once if waiting for a request (the drain); no effect while answering. */
        void closeIfIdle() {
            if (state.compareAndSet(IDLE, CLOSING)) {
                thread.interrupt(); // its read ends with InterruptedIOException, or its next one does
            }
        }

        private void close() {
            state.set(CLOSING);
            try {
                poller.close(channel); // ends any wait on it first, then closes
            } catch (IOException | RuntimeException e) {
                // nothing to do
            }
            open.remove(this);
            releasePlace();
        }
    }

    /**
     * Watches a connection while its slow work runs: the counterpart of the event loop's handling
     * of events on a connection with work in flight.
     */
    private final class Watch implements Runnable {
        final Conn c;
        final Thread worker;
        final AtomicInteger outcome = new AtomicInteger(WORKING);

        Watch(Conn c, Thread worker) {
            this.c = c;
            this.worker = worker;
        }

        @Override
        public void run() {
            try {
                while (outcome.get() == WORKING) {
                    int ops = poller.awaitReadable(c.channel, null);
                    if ((ops & SocketEvent.ERROR) != 0) {
                        cancel(); // a reset: the client is gone, stop working for nobody
                        return;
                    }
                    if ((ops & SocketEvent.PEER_CLOSED) != 0) {
                        // A FIN after a complete request: the client shut down its sending side and
                        // may still read (httpwg/http-core#22). Keep working; the end of stream is
                        // read after the answer, and the connection closes then.
                        halfClosed();
                        return;
                    }
                    if (!c.in.hasRemaining()) {
                        return; // a full buffer of pipelined bytes waits for the answer
                    }
                    if (NativeSockets.recv(c.channel.getFD(), c.in) < 0) {
                        halfClosed(); // the FIN came with the bytes read ahead
                        return;
                    }
                }
            } catch (InterruptedIOException | AsynchronousCloseException e) { // ClosedParkingPollerException too
                // the work ended first (its thread interrupted this one), or the server is stopping
            } catch (IOException e) {
                cancel(); // ECONNRESET while reading ahead: a reset
            }
        }

        private void cancel() {
            if (outcome.compareAndSet(WORKING, CANCELLED)) {
                cancelledSlow.incrementAndGet();
                worker.interrupt();
            }
        }

        private void halfClosed() {
            if (outcome.get() == WORKING && !c.halfClosed) {
                c.halfClosed = true;
                halfClosedSlow.incrementAndGet();
            }
        }
    }

    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
