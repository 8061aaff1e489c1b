package io.polyplex.net;

import io.polyplex.ParkingPoller;
import io.polyplex.SocketEvent;
import io.polyplex.internal.ParkingAccess;
import io.polyplex.NativeIOException;
import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.constants.platform.Errno;
import jnr.constants.platform.OpenFlags;
import java.nio.channels.SelectableChannel;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * A blocking accept loop that can be stopped. Threads blocked in accept(2), or in a kernel wait
 * for the listener, cannot be stopped: closing the listening socket, even from a signal handler,
 * does not interrupt accept(2), epoll_wait or kevent, so a server that accepts on blocking threads
 * often cannot shut down. Here any number of threads may call {@link #accept()} at once, and {@link
 * #shutdown()} from any thread (a shutdown hook, a signal handler's thread) ends every blocked and
 * every later {@code accept()} promptly.
 *
 * <p>How: the listening socket is non-blocking and watched by a {@link ParkingPoller}, the
 * acceptor's own (one poller thread, on any backend) or one the caller shares ({@link
 * #BlockingAcceptor(ParkingPoller, SelectableChannel)}); {@code accept()} parks there until a client
 * waits, never in accept(2) nor in a kernel wait, so threads blocked in it, virtual threads
 * included, pin no carrier. Shutdown closes its own poller, or ends its waits in a shared one, and
 * every wait ends at once.
 *
 * <h2>Outcomes</h2>
 * <ul>
 *   <li>{@code accept()} returns a connected, non-blocking, close-on-exec channel, or {@code null}
 *       once the acceptor is shut down (so {@code while ((c = acceptor.accept()) != null)} is the
 *       whole loop). A client that connected but was not accepted before shutdown stays in the
 *       kernel's backlog and is reset when the listener closes.
 *   <li>ECONNABORTED and EINTR are retried. Out of descriptors (EMFILE, ENFILE) never spins: the
 *       acceptor keeps one spare descriptor, gives it up to accept the pending client and close it at
 *       once (the client sees a reset rather than hanging in the backlog), logs it, and takes the
 *       spare back; if even that fails, it waits {@link #OUT_OF_FDS_BACKOFF} before trying again.
 *       It recovers by itself when descriptors free up. A spare lost to another thread of the
 *       process (it opened a file between the acceptor's close and accept) is taken again before
 *       the next accept(2), so a client cannot spend the last free descriptor first.
 *   <li>Other accept errors are thrown as {@link NativeIOException}.
 * </ul>
 *
 * <h2>Ownership</h2>
 * The acceptor owns the listening socket from construction: it closes it once shut down and the
 * last thread has left {@code accept()}, never while a thread may still use the fd (no fd-reuse
 * race). Accepted channels belong to the caller.
 *
 * <h2>Example</h2>
 * Accept loops on any number of threads (virtual ones included), sharing the caller's {@link
 * ParkingPoller}; one {@link #shutdown()} ends them all. (The build compiles and runs this code:
 * {@code examples/src/main/java/io/polyplex/examples/ApiExamples.java}.)
 * <pre>{@code
 * static BlockingAcceptor acceptOn(ParkingPoller poller, NativeServerSocketChannel listener, int threads,
 *         ExecutorService executor, Consumer<NativeSocketChannel> serve) throws IOException {
 *     BlockingAcceptor acceptor = new BlockingAcceptor(poller, listener);   // owns the listener now
 *     for (int i = 0; i < threads; i++) {
 *         executor.execute(() -> {
 *             try {
 *                 for (NativeSocketChannel c; (c = acceptor.accept()) != null; ) {   // null once shut down
 *                     serve.accept(c);
 *                 }
 *             } catch (IOException e) {
 *                 System.err.println("accept: " + e.getMessage());
 *             }
 *         });
 *     }
 *     return acceptor;   // acceptor.shutdown() from any thread ends every accept, then closes the listener
 * }
 * }</pre>
 */
public final class BlockingAcceptor implements Closeable {

    /** How long to wait before retrying when not even the spare descriptor can be had. */
    public static final Duration OUT_OF_FDS_BACKOFF = Duration.ofMillis(100);

    private static final System.Logger LOG = System.getLogger(BlockingAcceptor.class.getName());
    private static final int EMFILE = Errno.EMFILE.intValue();
    private static final int ENFILE = Errno.ENFILE.intValue();
    /** The spare's state once the acceptor has closed for good: never taken again, so never leaked. */
    private static final int RELEASED = -2;

    /** The listening socket: any stream family (TCP, AF_UNIX), as long as jnr can give its fd. */
    private final NativeSelectableChannel server;
    private final SelectableChannel serverChannel;
    /** Where accepting threads park: a thread waiting here pins no carrier. */
    private final ParkingPoller parker;
    /** Whether {@link #parker} is the acceptor's own (closed at shutdown) or the caller's (kept). */
    private final boolean ownsParker;
    /** How waits on a shared service are ended at shutdown without closing the service. */
    private static final ParkingAccess ACCESS = ParkingAccess.get();
    /** Ends a back-off at once on shutdown. */
    private final java.util.concurrent.locks.ReentrantLock backoffLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition shutdownSignal = backoffLock.newCondition();
    private final POSIX posix = POSIXFactory.getNativePOSIX();
    private final AtomicInteger inside = new AtomicInteger();
    private final Object spareLock = new Object();
    /** Guards serverClosed; a lock and condition, not a monitor, so a virtual thread waiting in
     *  awaitTermination unmounts on every JDK (a monitor wait pins it before JDK 24). */
    private final java.util.concurrent.locks.ReentrantLock terminationLock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.locks.Condition terminated = terminationLock.newCondition();
    private volatile boolean shutdown;
    private boolean serverClosed;
    /**
     * The spare, -1 while lost (or never had), {@link #RELEASED} once closed for good. Guarded by
     * spareLock for writes; volatile so the accept path can notice it is missing without the lock.
     */
    private volatile int spareFd = -1;
    private final SocketCalls sockets;
    private volatile long refusedForLackOfFds;

    /**
     * Watches {@code server} with the best backend for this OS. The socket must be listening; it is
     * switched to non-blocking mode.
     *
     * @param server the listening socket, which the acceptor owns from now on; if this constructor
     *     throws, the socket stays the caller's and open (though perhaps non-blocking by then)
     * @throws IOException if the socket cannot be made non-blocking, or the queue cannot be opened
     *     or cannot watch it
     * @throws IllegalArgumentException if the socket is not listening (SO_ACCEPTCONN), or if the
     *     system property {@value io.polyplex.EventQueues#BACKEND_PROPERTY} names a backend that is
     *     not on the class path
     * @throws UnsupportedOperationException if no backend runs here
     */
    public BlockingAcceptor(NativeServerSocketChannel server) throws IOException {
        this(server, null);
    }

    /**
     * Watches any listening stream socket with the named backend ({@code null}: the best for this
     * OS): a jnr-enxio {@link NativeServerSocketChannel} or a jnr-unixsocket
     * {@code UnixServerSocketChannel} alike. The socket must be listening; it is switched to
     * non-blocking mode. Accepted connections are returned as jnr-enxio
     * {@link NativeSocketChannel}s over the accepted fd, whatever the socket family.
     *
     * @param <L> a selectable channel that exposes its native fd
     * @param listener the listening socket, owned by the acceptor from now on (see the class
     *     comment)
     * @param backend the backend's name, or {@code null} for the best one on this OS
     * @throws IOException if the socket cannot be made non-blocking or the queue cannot be opened
     *     (the listener is then left open, still the caller's)
     * @throws IllegalArgumentException if the socket is not listening (SO_ACCEPTCONN)
     */
    public <L extends SelectableChannel & NativeSelectableChannel> BlockingAcceptor(L listener, String backend)
            throws IOException {
        this(listener, listener, backend, SocketCalls.SYSTEM);
    }

    /**
     * Watches {@code server} with the named backend ({@code null}: the best for this OS). The socket
     * must be listening; it is switched to non-blocking mode.
     *
     * @param server the listening socket, which the acceptor owns from now on; if this constructor
     *     throws, the socket stays the caller's and open (though perhaps non-blocking by then)
     * @param backend a backend name as {@link io.polyplex.EventQueues#open(String,
     *     java.util.function.ToIntFunction)} takes it, or {@code null}
     * @throws IOException if the socket cannot be made non-blocking, or the queue cannot be opened
     *     or cannot watch it
     * @throws IllegalArgumentException if the socket is not listening (SO_ACCEPTCONN), or if no
     *     backend of that name (for {@code null}: of the name the system property {@value
     *     io.polyplex.EventQueues#BACKEND_PROPERTY} gives) is on the class path
     * @throws UnsupportedOperationException if the backend (or, for {@code null}, every backend)
     *     cannot run here
     */
    public BlockingAcceptor(NativeServerSocketChannel server, String backend) throws IOException {
        this(server, server, backend, SocketCalls.SYSTEM);
    }

    /**
     * Watches any listening stream socket in a {@link ParkingPoller} the caller already runs (for
     * its {@link BlockingSockets}, say), instead of starting one of its own. The socket must be
     * listening; it is switched to non-blocking mode. {@link #shutdown()} ends the acceptor's own
     * waits in that service and leaves the service running: it stays the caller's, to close when it
     * is done with it (closing it first also ends every {@code accept()}, with {@link
     * io.polyplex.ClosedParkingPollerException}).
     *
     * @param <L> a selectable channel that exposes its native fd
     * @param poller where accepting threads park; it stays the caller's
     * @param listener the listening socket, owned by the acceptor from now on (see the class
     *     comment)
     * @throws IOException if the socket cannot be made non-blocking or its kind cannot be asked
     * @throws IllegalArgumentException if the socket is not listening
     */
    public <L extends SelectableChannel & NativeSelectableChannel> BlockingAcceptor(ParkingPoller poller, L listener)
            throws IOException {
        this(listener, listener, Objects.requireNonNull(poller, "poller"), null, SocketCalls.SYSTEM);
    }

    /** As above, with accept(2) made through {@code sockets} (a test injects faults there). */
    BlockingAcceptor(NativeServerSocketChannel server, String backend, SocketCalls sockets) throws IOException {
        this(server, server, backend, sockets);
    }

    private BlockingAcceptor(NativeSelectableChannel server, SelectableChannel channel, String backend,
            SocketCalls sockets) throws IOException {
        this(server, channel, null, backend, sockets);
    }

    /** With {@code shared} null, the acceptor opens (and later closes) a service of its own. */
    private BlockingAcceptor(NativeSelectableChannel server, SelectableChannel channel, ParkingPoller shared,
            String backend, SocketCalls sockets) throws IOException {
        this.sockets = sockets;
        this.server = Objects.requireNonNull(server, "server");
        this.serverChannel = channel;
        if (!sockets.isListening(server.getFD())) {
            // Else every accept() would fail later with accept4's EINVAL, far from the mistake.
            throw new IllegalArgumentException("fd " + server.getFD() + " is not a listening socket (" + server
                    + "): call listen(2) on it, or bind and listen with NativeSockets.listen, first");
        }
        channel.configureBlocking(false);
        // One platform poller: accepting is not a hot path, and a virtual one would add a second
        // thread (the master) and a hop for the platform threads that usually accept.
        prepareLogging();
        this.ownsParker = shared == null;
        this.parker = shared != null ? shared : ParkingPoller.open(backend, 1, false);
        spareFd = openSpare();
    }

    /**
     * Blocks until a client connects and returns it, or returns {@code null} once the acceptor is
     * shut down. Safe to call from any number of threads at once.
     *
     * @return a connected, non-blocking, close-on-exec channel that belongs to the caller, or
     *     {@code null} once {@link #shutdown()} has been called
     * @throws java.io.InterruptedIOException if the calling thread is interrupted while it waits (or
     *     was already), as its wait then ends; its interrupt status stays set, and the acceptor and
     *     the other threads go on
     * @throws IOException if accept(2) fails other than as described above (a {@link
     *     NativeIOException} naming the listening fd), or the wait fails; the acceptor stays usable
     */
    public NativeSocketChannel accept() throws IOException {
        inside.incrementAndGet();
        try {
            int fd = server.getFD();
            // Before the shutdown check: a shutdown on a shared service moves the epoch on after it
            // sets the flag, so a wait made with an epoch read before that is refused (see shutdown).
            long epoch = ACCESS.epoch(parker, fd);
            while (!shutdown) {
                NativeSocketChannel client = tryAccept();
                if (client != null) {
                    return client;
                }
                if (Thread.currentThread().isInterrupted()) {
                    throw new java.io.InterruptedIOException("accept on fd " + fd + " interrupted");
                }
                try {
                    ACCESS.await(parker, fd, server, SocketEvent.READ, null, epoch);
                } catch (java.nio.channels.AsynchronousCloseException e) {
                    if (shutdown) {
                        return null; // the shutdown ended this wait (ClosedParkingPollerException, or revoked)
                    }
                    throw e;
                } catch (java.io.InterruptedIOException e) {
                    throw new java.io.InterruptedIOException("accept on fd " + fd + " interrupted");
                }
            }
            return null;
        } finally {
            if (inside.decrementAndGet() == 0 && shutdown) {
                closeServerIfIdle();
            }
        }
    }

    /** One non-blocking accept; null if nobody is waiting (or a client was refused for lack of fds). */
    private NativeSocketChannel tryAccept() throws IOException {
        try {
            if (spareFd < 0) {
                // Lost to another thread at an earlier refusal: take it back before accept(2) can
                // spend the last free descriptor on a client, or the next shortage finds no reserve.
                retakeSpare();
            }
            return sockets.accept(server);
        } catch (NativeIOException e) {
            if (e.errno() != EMFILE && e.errno() != ENFILE) {
                throw e;
            }
            refuseOneClient(e);
            return null;
        }
    }

    /**
     * Out of descriptors: the pending client would keep the listener readable forever (a busy loop
     * on a level-triggered queue). Spend the spare fd to accept it and close it at once.
     */
    private void refuseOneClient(NativeIOException cause) throws IOException {
        boolean refused = false;
        synchronized (spareLock) {
            if (spareFd == -1) {
                // Lost on an earlier refusal (another thread took the descriptor between our close
                // and accept) or never had: one may have been freed since.
                spareFd = openSpare();
            }
            if (spareFd >= 0) {
                posix.close(spareFd);
                spareFd = -1;
                try {
                    NativeSocketChannel doomed = sockets.accept(server);
                    if (doomed != null) {
                        doomed.close();
                        refused = true;
                    }
                } catch (NativeIOException again) {
                    // still none free (another thread took it): back off below
                }
                spareFd = openSpare();
            }
        }
        if (refused) {
            refusedForLackOfFds++;
            logOutOfFds("out of file descriptors ({0}): refused a client; {1} refused so far",
                    cause.errnoName(), refusedForLackOfFds);
            return;
        }
        logOutOfFds("out of file descriptors ({0}), no spare left: backing off {1} ms",
                cause.errnoName(), OUT_OF_FDS_BACKOFF.toMillis());
        try {
            // The listener stays readable while clients wait: stop watching it for the back-off,
            // and park on a condition rather than in sleep(), so a shutdown still ends it at once.
            backoffLock.lock();
            try {
                long left = OUT_OF_FDS_BACKOFF.toNanos();
                while (!shutdown && left > 0) {
                    left = shutdownSignal.awaitNanos(left);
                }
            } finally {
                backoffLock.unlock();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the caller's loop sees it and throws
        }
    }

    /**
     * Logs while the process is out of descriptors, when logging itself may need one: the first
     * record a JVM formats loads the time-zone database (the default formatter prints a local time,
     * {@code ZoneInfoFile} reads {@code tzdb.dat}), and a class whose initialisation fails for lack of
     * a descriptor stays broken for the whole JVM. So the constructor loads it first (see {@link
     * #prepareLogging}), and a record that still cannot be written is dropped rather than thrown out
     * of {@code accept()}: the refusal is counted in {@link #refusedForLackOfFds()} either way.
     */
    private static void logOutOfFds(String format, Object... args) {
        try {
            LOG.log(Level.WARNING, format, args);
        } catch (RuntimeException | LinkageError e) {
            // no descriptor for the log either: the count says it
        }
    }

    /**
     * Loads what formatting a log record needs (the time-zone rules) while descriptors are still
     * free, so that the record of a refusal at EMFILE does not have to open {@code tzdb.dat} then.
     */
    private static void prepareLogging() {
        try {
            java.time.ZoneId.systemDefault().getRules();
        } catch (RuntimeException | LinkageError e) {
            // the JVM's own problem, not one this acceptor can make worse
        }
    }

    /** Takes the spare descriptor again if it was lost and one is free now; package-private for tests. */
    void retakeSpare() {
        synchronized (spareLock) {
            if (spareFd == -1) {
                spareFd = openSpare();
            }
        }
    }

    /**
     * Gives up the spare descriptor as if another thread had taken its number at a refusal and then
     * closed it; for tests of the recovery.
     */
    void loseSpare() {
        synchronized (spareLock) {
            if (spareFd >= 0) {
                posix.close(spareFd);
                spareFd = -1;
            }
        }
    }

    /** Whether the spare descriptor is held now; package-private for tests. */
    boolean holdsSpare() {
        return spareFd >= 0;
    }

    /** A close-on-exec descriptor on /dev/null held in reserve; -1 if none can be had now. */
    private int openSpare() {
        int fd = posix.open("/dev/null", OpenFlags.O_RDONLY.intValue() | OpenFlags.O_CLOEXEC.intValue(), 0);
        return Math.max(fd, -1);
    }

    /**
     * Clients refused so far because the process was out of descriptors (accepted and closed at
     * once with the spare descriptor). A figure for monitoring: increments by threads that race
     * may be lost.
     *
     * @return the count since construction
     */
    public long refusedForLackOfFds() {
        return refusedForLackOfFds;
    }

    /**
     * Stops accepting: every thread blocked in {@link #accept()} and every later call returns
     * {@code null} promptly. Idempotent; never blocks; callable from any thread.
     */
    public void shutdown() {
        shutdown = true;
        if (ownsParker) {
            parker.close();
        } else {
            ACCESS.revoke(parker, server.getFD()); // ends our waits, leaves the service running
        }
        backoffLock.lock();
        try {
            shutdownSignal.signalAll();
        } finally {
            backoffLock.unlock();
        }
        if (inside.get() == 0) {
            closeServerIfIdle();
        }
    }

    /**
     * Whether {@link #shutdown()} was called.
     *
     * @return true once {@link #shutdown()} or {@link #close()} has been called, even while threads
     *     are still leaving {@link #accept()}; see {@link #awaitTermination} for the end
     */
    public boolean isShutdown() {
        return shutdown;
    }

    /**
     * Waits until the acceptor is shut down, no thread is inside {@link #accept()} and the listening
     * socket is closed.
     *
     * @param timeout the longest wait
     * @return true if that happened within {@code timeout}
     * @throws InterruptedException if the calling thread is interrupted while it waits
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        terminationLock.lock();
        try {
            while (!serverClosed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                terminated.awaitNanos(left);
            }
            return true;
        } finally {
            terminationLock.unlock();
        }
    }

    /** Same as {@link #shutdown()}. */
    @Override
    public void close() {
        shutdown();
    }

    private void closeServerIfIdle() {
        terminationLock.lock();
        try {
            if (serverClosed || inside.get() != 0) {
                return;
            }
            serverClosed = true;
            try {
                serverChannel.close();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "closing the listening socket failed: {0}", e.getMessage());
            }
            synchronized (spareLock) {
                if (spareFd >= 0) {
                    posix.close(spareFd);
                }
                spareFd = RELEASED;
            }
            terminated.signalAll();
        } finally {
            terminationLock.unlock();
        }
    }

    /**
     * Installs a JVM shutdown hook (run on SIGTERM, SIGINT, System.exit) that shuts the acceptor
     * down and waits up to {@code drain} for the threads inside {@code accept()} to leave; then runs
     * {@code andThen} (e.g. finishing in-flight responses), if not null.
     *
     * @param drain how long the hook waits for the threads inside {@code accept()} to leave
     * @param andThen run by the hook after that wait; may be {@code null}
     * @return the hook thread, so it can be removed with {@link Runtime#removeShutdownHook}
     */
    public Thread shutdownOnSignal(Duration drain, Runnable andThen) {
        Objects.requireNonNull(drain, "drain");
        Thread hook = new Thread(() -> {
            shutdown();
            try {
                awaitTermination(drain);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (andThen != null) {
                andThen.run();
            }
        }, "polyplex-acceptor-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }
}
