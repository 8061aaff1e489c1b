package io.polyplex;

import io.polyplex.internal.Descriptors;
import io.polyplex.internal.FdUseTable;
import io.polyplex.internal.LibC;
import io.polyplex.internal.NativeErrors;
import io.polyplex.internal.ParkingAccess;
import io.polyplex.internal.PollerEventQueue;
import io.polyplex.internal.VirtualThreads;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToIntFunction;
import jnr.enxio.channels.NativeSelectableChannel;

/**
 * Parks threads until a file descriptor is ready, the way the JDK parks virtual threads on its own
 * sockets, for native fds the JDK knows nothing about (jnr-enxio and jnr-unixsocket channels, raw fds
 * from JNI). A thread that calls {@link #awaitReadable} or {@link #awaitWritable} parks with {@link
 * LockSupport}: a virtual thread unmounts and its carrier runs other virtual threads, a platform
 * thread simply waits. A few poller threads, each with its own {@link EventQueue}, watch the fds
 * with one-shot registrations and unpark the waiters (virtual threads where they can be, platform
 * daemon threads elsewhere: see below). No native call blocks a waiting thread, so thousands of
 * virtual threads blocked on native sockets pin no carrier.
 *
 * <h2>Pollers</h2>
 * {@link #open()} starts {@link #defaultPollers()} pollers: one per four available processors, at
 * least one, at most eight. One poller thread dispatches hundreds of thousands of wakeups a second,
 * which is more than one core's worth of handlers can consume, so more pollers than a quarter of the
 * cores only add threads that compete with the handlers for the CPU; more than one spreads the
 * dispatch cost on large machines. An fd always goes to poller {@code fd % pollers}: the same fd to
 * the same poller, so its waiters and its registration live under one lock, and consecutive fds (the
 * kernel hands out the lowest free number) spread evenly.
 *
 * <p>On JDK 21 and later over epoll the pollers are <em>virtual</em> threads, as the JDK's own
 * socket pollers are on Linux. A virtual poller never blocks in the kernel: it takes what is ready
 * with a zero-timeout wait and, while it found something, yields to the threads it woke and looks
 * again; once it finds nothing it parks until its queue's own fd (the epoll fd, readable while events
 * are pending) is readable, which one platform thread, {@code polyplex-parking-master}, watches for
 * every poller of the service. Why: a virtual thread unparked by a virtual poller is queued on the
 * poller's own carrier, so under load a wakeup costs no thread switch in the kernel, where a
 * platform poller has to wake a carrier for every batch. On the demo's HTTP server under wrk this
 * took its virtual-thread mode from about 0.6x to about 1.0x the JDK's own virtual-thread sockets.
 * Platform pollers remain for JDK 17, for poll and select (their sets live in memory, with no fd to
 * watch), for kqueue (a kqueue fd can be watched by another, FreeBSD {@code kqueue_kqfilter} and XNU
 * {@code kqueue_kqfilter}, but nested kqueues cannot be tested here, so they are not relied on), and
 * on request ({@link #open(String, int, boolean)}): when the waiters are platform threads, a
 * virtual poller adds a hop (master, then poller, then waiter) that a platform poller does not.
 *
 * <h2>What a wait returns</h2>
 * The ready operations as {@link SocketEvent} bits: {@code READ} or {@code WRITE}, with {@code
 * PEER_CLOSED} when the peer has closed or shut down its write side (a read wait ends early on it)
 * and {@code ERROR} when the socket has an error (any wait ends early on it); or 0 when the timeout
 * expired first. A timeout is never cut short: a wait that returns 0 has waited at least that long.
 * {@code null} waits without a limit, and so does a timeout too large to add to the clock (more
 * than about 73 years, {@code ChronoUnit.FOREVER} included), as {@link EventQueue#poll} treats it.
 * {@link Duration#ZERO} does not park: it reports what the fd is ready for now, by one poll(2) of it,
 * in the same bits (java.nio's {@code selectNow}).
 *
 * <h2>Interrupts, closing an fd, closing the service</h2>
 * <ul>
 *   <li>Interrupting a waiting thread ends its wait alone with {@link InterruptedIOException}, and
 *       leaves its interrupt status set (the thread's other state and every other waiter are
 *       untouched). This is what {@code java.io}'s blocking streams do, and what
 *       {@link io.polyplex.net.BlockingAcceptor#accept()} does. It is not java.nio's {@code
 *       ClosedByInterruptException}, which promises that the channel was closed: the fd is the
 *       caller's, and an interrupt does not close it.
 *   <li>{@link #close(Channel)} and {@link #closeFd(int)} close an fd that other threads may be
 *       waiting on or using: they first end those waits with {@link AsynchronousCloseException},
 *       wait for the {@link io.polyplex.net.BlockingSockets} calls inside a system call on the fd
 *       (one non-blocking call each), and only then close the fd and release its number, so nothing
 *       made through this service reaches the socket that takes the number next. This is what the
 *       JDK does for its own channels. A wait made on a channel already closed (through the service
 *       or not) throws {@link ClosedChannelException}. Waits are matched to the channel object they
 *       were made with, so a wait on a channel that was closed behind the service's back is never
 *       ended by an event of a later socket that reused its fd number: that waiter is ended with
 *       {@code AsynchronousCloseException} when the new socket is first waited on. (Raw-fd waits
 *       have no such identity: close raw fds with {@link #closeFd(int)}.) Waits made on a channel
 *       and on its raw fd number are waits on the same socket: they share, and neither disturbs
 *       the other; {@code close(channel)} and {@code closeFd} end both kinds.
 *   <li>{@link #close()} ends every wait at once with {@link ClosedParkingPollerException} (an
 *       {@link AsynchronousCloseException}, so a reader's {@code catch (IOException e)} ends it
 *       cleanly), stops the
 *       pollers and closes their queues; every later wait throws it too. It never closes the
 *       callers' fds.
 * </ul>
 *
 * <h2>Limits</h2>
 * The fds a backend can watch: on select, fds below FD_SETSIZE; a wait on a larger fd throws the
 * backend's error naming the fd. A wait on an fd that is not open throws {@link NativeIOException};
 * a negative fd number, which no system call could take, is a programming error and throws
 * {@link IllegalArgumentException}, as a negative timeout does.
 *
 * <p>Thread-safe: any number of threads may wait at once, on the same fd or on others, and any
 * thread may close fds or the service.
 *
 * <h2>Example</h2>
 * A read that parks until the socket has something, with a timeout. {@link #close(Channel)} from
 * another thread ends the wait with {@link AsynchronousCloseException}, {@link #close()} with {@link
 * ClosedParkingPollerException}; both are {@code IOException}s. ({@link
 * io.polyplex.net.BlockingSockets} does this, and more, for you. The build compiles and runs this
 * code: {@code examples/src/main/java/io/polyplex/examples/ApiExamples.java}.)
 * <pre>{@code
 * static int read(ParkingPoller poller, NativeSocketChannel channel, ByteBuffer buf, Duration timeout)
 *         throws IOException {
 *     while (true) {
 *         int n = channel.read(buf);                  // non-blocking: 0 while nothing has come
 *         if (n != 0) {
 *             return n;                               // bytes, or -1 at end of stream
 *         }
 *         if (poller.awaitReadable(channel, timeout) == 0) {   // parks; a virtual thread unmounts
 *             throw new SocketTimeoutException("nothing to read within " + timeout);
 *         }
 *     }
 * }
 * }</pre>
 */
public final class ParkingPoller implements Closeable {

    /** A waiter's outcome while it has none yet. */
    private static final int PENDING = 0;
    /** The fd was closed through the service (or found reused): AsynchronousCloseException. */
    private static final int FD_CLOSED = -1;
    /** The service was closed: ClosedParkingPollerException. */
    private static final int SERVICE_CLOSED = -2;
    /** The poller failed: the IOException in {@link Waiter#failure}. */
    private static final int FAILED = -3;

    /** The pollers' thread names: this, a dash and the poller's index. */
    private static final String POLLER_NAME = "polyplex-parking-poller";

    /** Timeouts beyond this (about 73 years) mean "no limit": the deadline would overflow. */
    private static final long FOREVER_NANOS = Long.MAX_VALUE / 4;

    static {
        ParkingAccess.set(new ParkingAccess() {
            @Override
            public long enter(ParkingPoller poller, int fd, Object owner, long epoch, boolean started)
                    throws IOException {
                return poller.enter(fd, owner, epoch, started);
            }

            @Override
            public void exit(ParkingPoller poller, int fd) {
                poller.uses.exit(fd);
            }

            @Override
            public int await(ParkingPoller poller, int fd, Object owner, int direction, Duration timeout,
                    long epoch) throws IOException {
                return poller.await(fd, owner, direction, timeout, epoch);
            }

            @Override
            public long epoch(ParkingPoller poller, int fd) {
                return poller.uses.epoch(fd);
            }

            @Override
            public void revoke(ParkingPoller poller, int fd) {
                // The epoch first: a wait enqueued after release (under the poller's lock) then
                // finds it moved on; one enqueued before is ended by release.
                poller.uses.revoke(fd);
                poller.release(fd);
            }
        });
    }

    private final Poller[] pollers;
    /** The fds that operations are using now, and those being closed (see {@link #close(Channel)}). */
    private final FdUseTable uses = new FdUseTable();
    private final String backend;
    /**
     * Where virtual-thread pollers park until their queue has something: a service of one platform
     * poller watching the queues' own fds; null when every poller is a platform thread.
     */
    private final ParkingPoller master;
    private volatile boolean closed;

    /**
     * Where a service gets its pollers' queues from, when the caller chooses: a backend provider of
     * its own, or (in tests) a kernel emulated in Java.
     */
    public interface Queues {
        /**
         * Opens one queue.
         *
         * @param <S> the queue's socket type
         * @param fdOf how to get a socket's fd
         * @return a new queue, which the service owns and closes
         * @throws IOException if the queue cannot be opened
         */
        <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException;
    }

    private ParkingPoller(Queues queues, int pollerCount, boolean virtualPollers, String threadName)
            throws IOException {
        if (pollerCount < 1) {
            throw new IllegalArgumentException("pollers must be at least 1: " + pollerCount);
        }
        pollers = new Poller[pollerCount];
        ParkingPoller m = null;
        try {
            for (int i = 0; i < pollerCount; i++) {
                EventQueue<Registration> q = queues.open(r -> r.fd);
                try {
                    int pollable = virtualPollers && q instanceof PollerEventQueue
                            ? ((PollerEventQueue<Registration>) q).pollableFd() : -1;
                    if (pollable >= 0 && m == null) {
                        m = new ParkingPoller(queues, 1, false, "polyplex-parking-master");
                    }
                    pollers[i] = new Poller(q, threadName + "-" + i, pollable >= 0 ? m : null, pollable);
                } catch (IOException | RuntimeException e) {
                    q.close(); // not a poller's yet (the master could not start): closed here
                    throw e;
                }
            }
        } catch (IOException | RuntimeException e) {
            for (Poller p : pollers) {
                if (p != null) {
                    p.queue.close();
                }
            }
            if (m != null) {
                m.close();
            }
            throw e;
        }
        this.master = m;
        this.backend = pollers[0].queue.backend();
        for (Poller p : pollers) {
            p.thread.start();
        }
    }

    /**
     * Opens a service on the best backend for this OS with {@link #defaultPollers()} pollers.
     *
     * @return the service; close it to stop its pollers
     * @throws IOException if a queue cannot be opened (nothing is left open then)
     */
    public static ParkingPoller open() throws IOException {
        return open((String) null, defaultPollers());
    }

    /**
     * Opens a service on the named backend with the given number of pollers, virtual threads where
     * they can be (see {@link #open(String, int, boolean)}).
     *
     * @param backend the backend's name, or {@code null} for the best one on this OS
     * @param pollers the number of poller threads, at least 1
     * @return the service; close it to stop its pollers
     * @throws IOException if a queue cannot be opened (nothing is left open then)
     */
    public static ParkingPoller open(String backend, int pollers) throws IOException {
        return open(backend, pollers, true);
    }

    /**
     * Opens a service on the named backend with the given number of pollers, saying which kind of
     * thread they are.
     *
     * @param backend the backend's name, or {@code null} for the best one on this OS
     * @param pollers the number of poller threads, at least 1
     * @param virtualPollers true for virtual-thread pollers where the JDK (21 and later) and the
     *     backend (one whose queue is itself an fd: epoll) allow, platform threads elsewhere; false
     *     for platform threads always (see "Pollers" above for when each is better)
     * @return the service; close it to stop its pollers
     * @throws IOException if a queue cannot be opened (nothing is left open then)
     */
    public static ParkingPoller open(String backend, int pollers, boolean virtualPollers) throws IOException {
        return new ParkingPoller(new Queues() {
            @Override
            public <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
                return backend == null ? EventQueues.open(fdOf) : EventQueues.open(backend, fdOf);
            }
        }, pollers, virtualPollers && VirtualThreads.available(), POLLER_NAME);
    }

    /**
     * Opens a service whose pollers' queues come from {@code queues}, virtual threads where they can
     * be.
     *
     * @param queues opens each poller's queue
     * @param pollers the number of poller threads, at least 1
     * @return the service; close it to stop its pollers
     * @throws IOException if a queue cannot be opened (nothing is left open then)
     */
    public static ParkingPoller open(Queues queues, int pollers) throws IOException {
        return open(queues, pollers, true);
    }

    /**
     * Opens a service whose pollers' queues come from {@code queues}, saying which kind of thread
     * the pollers are.
     *
     * @param queues opens each poller's queue
     * @param pollers the number of poller threads, at least 1
     * @param virtualPollers as for {@link #open(String, int, boolean)}
     * @return the service; close it to stop its pollers
     * @throws IOException if a queue cannot be opened (nothing is left open then)
     */
    public static ParkingPoller open(Queues queues, int pollers, boolean virtualPollers) throws IOException {
        return new ParkingPoller(Objects.requireNonNull(queues, "queues"), pollers,
                virtualPollers && VirtualThreads.available(), POLLER_NAME);
    }

    /**
     * Whether the pollers run as virtual threads (see "Pollers" above).
     *
     * @return true on JDK 21 and later over a backend whose queue is an fd, unless the service was
     *     opened with {@code virtualPollers} false
     */
    public boolean virtualPollers() {
        return master != null;
    }

    /**
     * The number of pollers {@link #open()} starts: one per four available processors, from 1 to 8.
     *
     * @return the default poller count on this machine
     */
    public static int defaultPollers() {
        return defaultPollers(Runtime.getRuntime().availableProcessors());
    }

    /** {@link #defaultPollers()} for a machine with {@code processors} available processors. */
    static int defaultPollers(int processors) {
        return Math.max(1, Math.min(8, processors / 4));
    }

    /**
     * The backend the pollers use.
     *
     * @return its name, e.g. {@code "epoll"}
     */
    public String backend() {
        return backend;
    }

    /**
     * The number of poller threads.
     *
     * @return at least 1
     */
    public int pollers() {
        return pollers.length;
    }

    /**
     * Parks the calling thread until {@code channel} is readable, its peer has closed, it has an
     * error, or the timeout expires.
     *
     * @param channel the channel; it stays the caller's
     * @param timeout how long to wait at most, {@code null} for no limit
     * @return the ready {@link SocketEvent} bits ({@code READ}, possibly with {@code PEER_CLOSED} or
     *     {@code ERROR}), or 0 if the timeout expired
     * @throws InterruptedIOException if the thread was interrupted (its interrupt status stays set)
     * @throws ClosedChannelException if the channel was closed before the wait began
     * @throws AsynchronousCloseException if the channel was closed through this service meanwhile
     * @throws ClosedParkingPollerException if the service is or gets closed
     * @throws IOException if the backend cannot watch the fd (it names the call, the fd and the errno)
     */
    public int awaitReadable(NativeSelectableChannel channel, Duration timeout) throws IOException {
        Objects.requireNonNull(channel, "channel");
        return await(channel.getFD(), channel, SocketEvent.READ, timeout);
    }

    /**
     * Parks the calling thread until {@code channel} is writable, has an error, or the timeout
     * expires.
     *
     * @param channel the channel; it stays the caller's
     * @param timeout how long to wait at most, {@code null} for no limit
     * @return the ready {@link SocketEvent} bits ({@code WRITE}, possibly with {@code ERROR} or
     *     {@code PEER_CLOSED}), or 0 if the timeout expired
     * @throws InterruptedIOException if the thread was interrupted (its interrupt status stays set)
     * @throws ClosedChannelException if the channel was closed before the wait began
     * @throws AsynchronousCloseException if the channel was closed through this service meanwhile
     * @throws ClosedParkingPollerException if the service is or gets closed
     * @throws IOException if the backend cannot watch the fd (it names the call, the fd and the errno)
     */
    public int awaitWritable(NativeSelectableChannel channel, Duration timeout) throws IOException {
        Objects.requireNonNull(channel, "channel");
        return await(channel.getFD(), channel, SocketEvent.WRITE, timeout);
    }

    /**
     * {@link #awaitReadable(NativeSelectableChannel, Duration)} for a raw fd.
     *
     * @param fd the file descriptor; it stays the caller's
     * @param timeout how long to wait at most, {@code null} for no limit
     * @return the ready bits, or 0 if the timeout expired
     * @throws IOException as for a channel
     */
    public int awaitReadable(int fd, Duration timeout) throws IOException {
        return await(fd, null, SocketEvent.READ, timeout);
    }

    /**
     * {@link #awaitWritable(NativeSelectableChannel, Duration)} for a raw fd.
     *
     * @param fd the file descriptor; it stays the caller's
     * @param timeout how long to wait at most, {@code null} for no limit
     * @return the ready bits, or 0 if the timeout expired
     * @throws IOException as for a channel
     */
    public int awaitWritable(int fd, Duration timeout) throws IOException {
        return await(fd, null, SocketEvent.WRITE, timeout);
    }

    /**
     * Closes {@code channel} so that no wait or operation made through this service can reach the
     * socket that next takes its fd number: every wait on it ends with {@link
     * AsynchronousCloseException}, the {@link io.polyplex.net.BlockingSockets} calls already inside
     * a system call on its fd finish that call (each is one non-blocking call: this waits for them,
     * never for data), later ones are refused, and only then is the fd closed and its number
     * released. Safe to call while other threads wait on it or use it; closing a channel nobody
     * waits on just closes it; closing a closed channel does nothing. Only operations made through
     * this service are covered: close a channel through the service its users park in.
     *
     * @param <C> a channel that exposes its fd
     * @param channel the channel to close
     * @throws IOException if closing the channel fails (the waits have ended anyway)
     */
    public <C extends Channel & NativeSelectableChannel> void close(C channel) throws IOException {
        Objects.requireNonNull(channel, "channel");
        if (!channel.isOpen()) {
            return;
        }
        int fd = channel.getFD();
        if (!uses.beginClose(fd, channel)) {
            channel.close(); // closed meanwhile by a concurrent close of the same fd
            return;
        }
        try {
            release(fd);
            uses.awaitIdle(fd);
            channel.close(); // isOpen() turns false before close(2) releases the number
        } finally {
            uses.endClose(fd);
        }
    }

    /**
     * {@link #close(Channel)} for a raw fd: ends every wait on {@code fd} with {@link
     * AsynchronousCloseException}, waits for the operations inside a system call on it, then closes
     * it. A raw fd has no identity beyond its number: an operation made on the number after this
     * returns reaches whatever socket has it then, so stop using the number first.
     *
     * @param fd the file descriptor to close
     * @throws IOException if close(2) fails (naming the fd and the errno; the fd is released anyway,
     *     as every kernel Polyplex runs on frees the number even then)
     */
    public void closeFd(int fd) throws IOException {
        if (fd < 0) {
            throw new IllegalArgumentException("fd must not be negative: " + fd);
        }
        requirePlausible(fd);
        if (!uses.beginClose(fd, null)) {
            return; // a concurrent close of the same fd closed it: closing the number again could
                    // close the next socket that got it
        }
        try {
            release(fd);
            uses.awaitIdle(fd);
            if (LibC.INSTANCE.close(fd) < 0) {
                throw NativeErrors.exception("close(", fd, LibC.RUNTIME.getLastError());
            }
        } finally {
            uses.endClose(fd);
        }
    }

    /** Fd numbers from here up are checked to be open before the fd-use table grows for them. */
    private static final int LARGE_FD = 1 << 20;

    /**
     * Refuses a large fd number that is not open (EBADF, as the kernel would) before any table grows
     * to hold it: a stray {@code Integer.MAX_VALUE} must not cost megabytes. Below {@link #LARGE_FD}
     * (Linux's default ceiling, {@code fs.nr_open}) nothing is checked: the system call that follows
     * says EBADF itself.
     */
    private static void requirePlausible(int fd) throws IOException {
        if (fd >= LARGE_FD && !Descriptors.isOpen(fd)) {
            throw NativeErrors.exception("poll(", fd, NativeErrors.EBADF);
        }
    }

    /** {@link ParkingAccess#enter}: counts a system call on {@code fd} in, or refuses it. */
    private long enter(int fd, Object owner, long epoch, boolean started) throws IOException {
        if (fd < 0) {
            throw new IllegalArgumentException("fd must not be negative: " + fd);
        }
        requirePlausible(fd);
        if (owner instanceof Channel && !((Channel) owner).isOpen()) {
            throw closed(fd, started);
        }
        long entered = uses.enter(fd, owner, epoch);
        if (entered < 0) {
            throw closed(fd, started);
        }
        if (owner instanceof Channel && !((Channel) owner).isOpen()) {
            // Closed between the first check and the count: the number may be free already.
            uses.exit(fd);
            throw closed(fd, started);
        }
        return entered;
    }

    /** What a use of a closed fd throws: during an operation, AsynchronousCloseException. */
    private static ClosedChannelException closed(int fd, boolean started) {
        return started ? new AsynchronousCloseException() : new ClosedChannelException();
    }

    /**
     * Ends every wait with {@link ClosedParkingPollerException}, stops the pollers and closes their
     * queues. Idempotent; never closes the callers' fds.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Poller p : pollers) {
            p.endWaits(SERVICE_CLOSED, null);
        }
        if (master != null) {
            // Before the queues: its close ends the virtual pollers' parks (each then leaves its
            // loop), and no queue fd is closed while the master still watches it.
            master.close();
        }
        for (Poller p : pollers) {
            p.stop();
        }
    }

    private int await(int fd, Object owner, int direction, Duration timeout) throws IOException {
        return await(fd, owner, direction, timeout, FdUseTable.ANY_EPOCH);
    }

    /** A wait; {@code epoch} as {@link ParkingAccess#await} takes it. */
    private int await(int fd, Object owner, int direction, Duration timeout, long epoch) throws IOException {
        if (fd < 0) {
            throw new IllegalArgumentException("fd must not be negative: " + fd);
        }
        long timeoutNanos = timeoutNanos(timeout);
        if (owner instanceof Channel && !((Channel) owner).isOpen()) {
            throw new ClosedChannelException();
        }
        if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("wait on fd " + fd + " interrupted");
        }
        if (closed) {
            throw new ClosedParkingPollerException();
        }
        if (timeoutNanos == 0) {
            return readyNow(fd, owner, direction, epoch);
        }
        Poller p = pollers[fd % pollers.length];
        Waiter w = new Waiter(Thread.currentThread(), direction);
        p.enqueue(fd, owner, w, epoch);
        long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
        while (w.result == PENDING) {
            if (Thread.interrupted()) {
                boolean cancelled = p.cancel(w);
                Thread.currentThread().interrupt();
                if (cancelled) {
                    throw new InterruptedIOException("wait on fd " + fd + " interrupted");
                }
                break; // the outcome arrived first: report it, with the interrupt status kept
            }
            if (timeoutNanos < 0) {
                LockSupport.park(this);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (p.cancel(w)) {
                        return 0;
                    }
                    break;
                }
                LockSupport.parkNanos(this, left);
            }
        }
        switch (w.result) {
            case FD_CLOSED:
                throw new AsynchronousCloseException();
            case SERVICE_CLOSED:
                throw new ClosedParkingPollerException();
            case FAILED:
                throw new IOException("the poller for fd " + fd + " failed", w.failure);
            default:
                return w.result;
        }
    }

    /**
     * A zero timeout: what the fd is ready for now, as a wait would report it, without parking
     * (java.nio's {@code selectNow}); 0 if nothing that would end the wait.
     */
    private int readyNow(int fd, Object owner, int direction, long epoch) throws IOException {
        // Counted in, as a system call made through BlockingSockets is: a close(channel) or
        // closeFd racing this poll(2) waits for it, so it never probes the fd's next owner.
        enter(fd, owner, epoch, true);
        try {
            int ops = Descriptors.readyNow("poll(", fd, direction);
            return (ops & ends(direction)) != 0 ? ops & reported(direction) : 0;
        } finally {
            uses.exit(fd);
        }
    }

    /** The bits that end a wait in {@code direction}. */
    private static int ends(int direction) {
        return direction == SocketEvent.READ ? SocketEvent.READ | SocketEvent.PEER_CLOSED | SocketEvent.ERROR
                : SocketEvent.WRITE | SocketEvent.ERROR;
    }

    /** The bits a wait in {@code direction} reports. */
    private static int reported(int direction) {
        return direction | SocketEvent.PEER_CLOSED | SocketEvent.ERROR;
    }

    /**
     * A timeout in nanoseconds: -1 for none ({@code null}, or so long that the deadline would
     * overflow, as {@code EventQueue.poll} treats it), 0 for a probe, else the nanoseconds.
     */
    private static long timeoutNanos(Duration timeout) {
        if (timeout == null) {
            return -1;
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        }
        if (timeout.getSeconds() >= FOREVER_NANOS / 1_000_000_000L) {
            return -1;
        }
        return timeout.toNanos();
    }

    private void release(int fd) {
        pollers[fd % pollers.length].release(fd);
    }

    /** One thread's wait: its direction and, once decided, its outcome. */
    private static final class Waiter {
        final Thread thread;
        final int direction;
        volatile int result = PENDING;
        IOException failure;
        /** The registration it waits in; guarded by the poller's lock. */
        Registration registration;

        Waiter(Thread thread, int direction) {
            this.thread = thread;
            this.direction = direction;
        }

        /** Decides the outcome and unparks; the caller holds the poller's lock. */
        void finish(int outcome) {
            result = outcome;
            LockSupport.unpark(thread);
        }
    }

    /**
     * One fd as a poller watches it: the socket in the poller's queue. Its identity is the channel
     * the waits were made with ({@code null} for raw fds), so a later socket on the same fd number
     * is a different registration, which the queue keeps apart from this one.
     */
    private static final class Registration {
        final int fd;
        /**
         * The channel the waits were made with, {@code null} while only raw-fd waits use it; a
         * channel's wait gives a raw registration its identity. Guarded by the poller's lock.
         */
        Object owner;
        final List<Waiter> waiters = new ArrayList<>(2);
        /** The directions subscribed (one-shot) and not yet fired. */
        int armed;

        Registration(int fd, Object owner) {
            this.fd = fd;
            this.owner = owner;
        }

        int wanted() {
            int ops = 0;
            for (Waiter w : waiters) {
                ops |= w.direction;
            }
            return ops;
        }
    }

    /**
     * One poller: a platform daemon thread blocked in its queue's poll, or a virtual thread that
     * polls without waiting and parks in the master while the queue is empty. Its lock guards its table
     * and every registration in it; nobody parks while holding it.
     */
    private final class Poller implements Runnable, SocketEventHandler<Registration> {
        final EventQueue<Registration> queue;
        final Thread thread;
        final ReentrantLock lock = new ReentrantLock();
        /** Where this poller parks while its queue is empty, if it is a virtual thread; else null. */
        final ParkingPoller master;
        /** The queue's own fd, readable while the queue has something; -1 for a platform poller. */
        final int queueFd;
        Registration[] byFd = new Registration[64];

        Poller(EventQueue<Registration> queue, String name, ParkingPoller master, int queueFd) {
            this.queue = queue;
            this.master = master;
            this.queueFd = queueFd;
            if (!queue.capabilities().contains(Capability.ONE_SHOT)) {
                // every backend has it (native or emulated in core); one without would spin here.
                // The service's constructor closes the queue.
                throw new UnsupportedOperationException(queue.backend() + " has no one-shot mode");
            }
            if (master != null) {
                this.thread = VirtualThreads.unstarted(name, this);
            } else {
                this.thread = new Thread(this, name);
                thread.setDaemon(true);
            }
        }

        @Override
        public void run() {
            try {
                if (master == null) {
                    while (true) {
                        queue.poll(null, this);
                        Thread.interrupted(); // nobody interrupts pollers on purpose; keep serving
                    }
                }
                // A virtual thread: never block in the kernel (that would pin the carrier). Take
                // what is ready without waiting; while something was, let the threads it woke run
                // and look again; once nothing was, park until the queue's fd says there is more.
                int polled = 0;
                while (true) {
                    if (polled == 0) {
                        try {
                            master.await(queueFd, null, SocketEvent.READ, null, FdUseTable.ANY_EPOCH);
                        } catch (InterruptedIOException e) {
                            Thread.interrupted(); // nobody interrupts pollers on purpose; keep serving
                        }
                    } else {
                        Thread.yield();
                    }
                    polled = queue.poll(Duration.ZERO, this);
                }
            } catch (ClosedEventQueueException | ClosedParkingPollerException e) {
                // closed (its queue, or the master): the service is shutting down
            } catch (IOException | RuntimeException e) {
                IOException failure = e instanceof IOException ? (IOException) e : new IOException(e);
                shutDown(FAILED, failure);
            }
        }

        /** Adds a waiter for {@code fd} and arms the fd for every direction its waiters want. */
        void enqueue(int fd, Object owner, Waiter w, long epoch) throws IOException {
            lock.lock();
            try {
                if (closed) {
                    throw new ClosedParkingPollerException();
                }
                // Under the lock that close(channel)'s release takes: a wait enqueued before it is
                // ended by it; one after it finds the fd closing, or the channel closed.
                if (uses.closing(fd, owner) || uses.closedSince(fd, epoch)) {
                    throw new AsynchronousCloseException();
                }
                if (owner instanceof Channel && !((Channel) owner).isOpen()) {
                    throw new AsynchronousCloseException();
                }
                Registration r = fd < byFd.length ? byFd[fd] : null;
                if (r != null && r.owner != owner) {
                    if (!sameSocket(r.owner, owner)) {
                        // The fd number now belongs to another socket: the channel the registration
                        // was made with was closed behind the service's back. Its waiters are told
                        // so, and never see this socket's events.
                        forget(r, FD_CLOSED);
                        r = null;
                    } else if (r.owner == null) {
                        // A channel's wait on a number that raw-fd waits use: the registration
                        // takes the channel's identity; the raw waits stay.
                        r.owner = owner;
                    }
                }
                if (r == null) {
                    register(fd, owner, w);
                } else {
                    r.waiters.add(w);
                    w.registration = r;
                    try {
                        arm(r);
                    } catch (NativeIOException e) {
                        // A registration kept from an earlier wait whose fd was closed and perhaps
                        // reused behind the service's back (a raw fd has no identity to tell): the
                        // kernel no longer knows it (epoll's ENOENT, kqueue's), or knows another
                        // file. Start afresh on this fd.
                        r.waiters.remove(w);
                        forget(r, FD_CLOSED);
                        register(fd, owner, w);
                    }
                }
            } catch (IOException | RuntimeException e) {
                Registration r = fd < byFd.length ? byFd[fd] : null;
                if (r != null) {
                    r.waiters.remove(w);
                    if (r.waiters.isEmpty()) {
                        forget(r, FD_CLOSED);
                    }
                }
                throw e;
            } finally {
                lock.unlock();
            }
        }

        /**
         * Whether a wait made with {@code asked} (a channel, or {@code null} for a raw fd) is on the
         * same socket as a registration made with {@code held}, another owner: a raw-fd wait is, on
         * the number of a channel that is still open; a channel's wait (its channel is open:
         * checked on the way in) is, on a number only raw-fd waits use; two channels are not.
         */
        private static boolean sameSocket(Object held, Object asked) {
            if (asked == null) {
                return !(held instanceof Channel && !((Channel) held).isOpen());
            }
            return held == null;
        }

        /**
         * A new registration for {@code fd} with {@code w} as its first waiter, armed before it goes
         * into the table: the kernel (or the backend's own check) refuses an fd that is not open
         * first, so no number, however large, makes the table grow for nothing. Events cannot reach
         * it before the table has it: the handler takes the same lock.
         */
        private void register(int fd, Object owner, Waiter w) throws IOException {
            Registration r = new Registration(fd, owner);
            r.waiters.add(w);
            w.registration = r;
            arm(r);
            put(fd, r);
        }

        /** Subscribes what the waiters want and is not armed yet; the caller holds the lock. */
        private void arm(Registration r) throws IOException {
            int want = r.wanted();
            if (want != 0 && (r.armed & want) != want) {
                queue.subscribe(r, want, Trigger.ONE_SHOT);
                r.armed = want;
            }
        }

        /** Takes a waiter out if it has no outcome yet; false if it already has one. */
        boolean cancel(Waiter w) {
            lock.lock();
            try {
                if (w.result != PENDING) {
                    return false;
                }
                Registration r = w.registration;
                if (r != null) {
                    r.waiters.remove(w); // the registration stays, for the next wait on this fd
                }
                w.result = Integer.MIN_VALUE; // cancelled: nobody reads it
                return true;
            } finally {
                lock.unlock();
            }
        }

        /**
         * Ends every wait on {@code fd} with FD_CLOSED, whichever channel or raw fd it was made
         * with: they are all on the socket that has the number now (or on one closed behind the
         * service's back, whose waits are over anyway).
         */
        void release(int fd) {
            lock.lock();
            try {
                Registration r = fd < byFd.length ? byFd[fd] : null;
                if (r != null) {
                    forget(r, FD_CLOSED);
                }
            } finally {
                lock.unlock();
            }
        }

        /** Removes a registration from the table and the queue, ending its waits; lock held. */
        private void forget(Registration r, int outcome) {
            if (byFd[r.fd] == r) {
                byFd[r.fd] = null;
            }
            try {
                queue.remove(r);
            } catch (IOException | ClosedEventQueueException e) {
                // gone already (closed behind our back, or the queue is closing): nothing to undo
            }
            for (Waiter w : r.waiters) {
                w.finish(outcome);
            }
            r.waiters.clear();
        }

        private void put(int fd, Registration r) {
            if (fd >= byFd.length) {
                Registration[] bigger = new Registration[Math.max(fd + 1, byFd.length * 2)];
                System.arraycopy(byFd, 0, bigger, 0, byFd.length);
                byFd = bigger;
            }
            byFd[fd] = r;
        }

        /** Runs on the poller thread for each ready registration. */
        @Override
        public void onEvent(Registration r, int ops) {
            lock.lock();
            try {
                if (r.fd >= byFd.length || byFd[r.fd] != r) {
                    return; // forgotten meanwhile
                }
                if (r.owner instanceof Channel && !((Channel) r.owner).isOpen()) {
                    // Closed behind the service's back. poll and select watch fd numbers, so this
                    // event may be a later socket's on the reused number: never the old waits' news.
                    forget(r, FD_CLOSED);
                    return;
                }
                r.armed = 0; // one-shot: the event disarmed every direction
                for (int i = r.waiters.size() - 1; i >= 0; i--) {
                    Waiter w = r.waiters.get(i);
                    if ((ops & ends(w.direction)) != 0) {
                        r.waiters.remove(i);
                        w.finish(ops & reported(w.direction));
                    }
                }
                if (!r.waiters.isEmpty()) {
                    try {
                        arm(r);
                    } catch (IOException | RuntimeException e) {
                        IOException failure = e instanceof IOException ? (IOException) e : new IOException(e);
                        for (Waiter w : r.waiters) {
                            w.failure = failure;
                        }
                        forget(r, FAILED);
                    }
                }
            } finally {
                lock.unlock();
            }
        }

        /** Ends every wait with {@code outcome} and closes the queue. */
        void shutDown(int outcome, IOException failure) {
            endWaits(outcome, failure);
            if (master != null) {
                // Out of the master's set before the queue's fd closes, so that the number, once
                // reused, is nobody's registration there (a no-op once the master is closed).
                master.release(queueFd);
            }
            stop();
        }

        /** Ends every wait with {@code outcome}; the queue stays open. */
        void endWaits(int outcome, IOException failure) {
            lock.lock();
            try {
                for (Registration r : byFd) {
                    if (r != null) {
                        for (Waiter w : r.waiters) {
                            w.failure = failure;
                            w.finish(outcome);
                        }
                        r.waiters.clear();
                    }
                }
                java.util.Arrays.fill(byFd, null);
            } finally {
                lock.unlock();
            }
        }

        /** Closes the queue and waits for the thread to leave (unless it is the caller). */
        void stop() {
            queue.close();
            if (Thread.currentThread() != thread) {
                try {
                    thread.join(TimeUnit.SECONDS.toMillis(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
