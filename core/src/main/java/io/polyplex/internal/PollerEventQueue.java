package io.polyplex.internal;

import io.polyplex.Capability;
import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.SocketEvent;
import io.polyplex.SocketEventHandler;
import io.polyplex.Trigger;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import io.polyplex.spi.RegistrationLostException;
import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToIntFunction;

/**
 * The one {@link EventQueue} implementation: all interest-state logic, over any {@link Backend}.
 *
 * <h2>Locks</h2>
 * Two locks, always taken in this order:
 * <ol>
 *   <li>{@code pollLock} (a {@link ReentrantLock}): held by the one thread that waits in the kernel
 *       and dispatches; guards the backend's event buffer. Other pollers queue on it, each within its
 *       own timeout.
 *   <li>{@code stateLock}: guards the {@link InterestTable} and every backend change call, so the
 *       table and the kernel set always agree. Held only for short, non-blocking work (never across
 *       a wait or a handler call).
 * </ol>
 * The self-pipe has its own innermost lock. Native resources are released by whoever last holds
 * {@code pollLock} once the queue is closed, so no thread is ever inside a wait on a closed fd.
 *
 * @param <S> the caller's socket type
 */
public final class PollerEventQueue<S> implements EventQueue<S> {

    /** The self-pipe's token; no fd is -1, so no table token can equal it. */
    static final long WAKEUP_TOKEN = -1L;

    private static final long INFINITE = -1L;
    /** Timeouts beyond this (about 146 years) are treated as "no limit", avoiding deadline overflow. */
    private static final long FOREVER_NANOS = Long.MAX_VALUE / 2;

    private final String name;
    private final Set<Capability> capabilities;
    private final boolean nativeOneShot;
    private final boolean changesNeedWakeup;
    /** Null where the kernel reports peer close itself. */
    private final PeerProbe peerProbe;
    private final Backend backend;
    private final SelfPipe wakeupPipe;
    /** Makes an interrupt of a thread blocked in the kernel wait end that wait. */
    private final InterruptHook interruptHook;
    private final ToIntFunction<? super S> fdOf;

    private final ReentrantLock pollLock = new ReentrantLock();
    private final Object stateLock = new Object();
    private final InterestTable<S> table = new InterestTable<>(1024);

    private volatile boolean closed;
    private volatile boolean released;
    /** A thread is inside {@link Backend#poll}; changes to a poll/select backend must wake it. */
    private volatile boolean waiting;
    private final AtomicBoolean userWakeup = new AtomicBoolean();
    /** The last dispatch drained the self-pipe; only touched under {@code pollLock}. */
    private boolean drained;

    /**
     * One wait's events, resolved to sockets (see {@link #dispatch}); sized to the backend's event
     * buffer and touched only under {@code pollLock}, so a poll allocates nothing.
     */
    private final Object[] batchSockets;
    private final int[] batchFds;
    private final int[] batchOps;
    private final int[] batchGenerations;
    private final int[] batchStates;
    /** The table's modification count when the batch was resolved. */
    private int resolvedModCount;

    /** Reused by {@link #poll(Duration)}'s collecting handler. */
    private List<SocketEvent<S>> collected;
    private final SocketEventHandler<S> collector = (s, ops) -> collected.add(new SocketEvent<>(s, ops));

    /**
     * Opens the provider's backend and a self-pipe, and registers the pipe's read end with it. The
     * queue owns both until it is closed; if this constructor throws, whatever it opened is closed
     * again.
     *
     * @param provider the backend to open (its {@link BackendProvider#unsupportedReason()} is not
     *     consulted)
     * @param fdOf how to get a socket's file descriptor
     * @param maxEvents the most events one kernel wait may return
     * @throws IOException if the backend or the pipe cannot be opened, or the pipe not registered
     */
    public PollerEventQueue(BackendProvider provider, ToIntFunction<? super S> fdOf, int maxEvents)
            throws IOException {
        this(provider, fdOf, maxEvents, LibC.INSTANCE);
    }

    /**
     * As above, with core's own libc calls (the self-pipe, the peer-closed probe) made through
     * {@code libc}: the seam a test uses to inject system-call failures.
     *
     * @param provider the backend to open (its {@link BackendProvider#unsupportedReason()} is not
     *     consulted)
     * @param fdOf how to get a socket's file descriptor
     * @param maxEvents the most events one kernel wait may return
     * @param libc the binding for core's own calls
     * @throws IOException if the backend or the pipe cannot be opened, or the pipe not registered
     */
    public PollerEventQueue(BackendProvider provider, ToIntFunction<? super S> fdOf, int maxEvents, LibC libc)
            throws IOException {
        this(provider, fdOf, maxEvents, libc, OsConstants.CURRENT.pollRdhup());
    }

    /**
     * As above, with the peer-closed probe's batched check set explicitly: a test forces the
     * per-event probe (recv with MSG_PEEK for each readable event) with {@code pollRdhup} 0, as on
     * a system whose poll(2) has no POLLRDHUP.
     *
     * @param provider the backend to open (its {@link BackendProvider#unsupportedReason()} is not
     *     consulted)
     * @param fdOf how to get a socket's file descriptor
     * @param maxEvents the most events one kernel wait may return
     * @param libc the binding for core's own calls
     * @param pollRdhup this system's POLLRDHUP ({@link OsConstants#pollRdhup()}), or 0 for the
     *     per-event probe; used only if the backend lacks {@link Capability#KERNEL_PEER_CLOSED}
     * @throws IOException if the backend or the pipe cannot be opened, or the pipe not registered
     */
    public PollerEventQueue(BackendProvider provider, ToIntFunction<? super S> fdOf, int maxEvents, LibC libc,
                            int pollRdhup) throws IOException {
        this.name = provider.name();
        this.capabilities = capabilitiesOf(provider);
        this.nativeOneShot = provider.capabilities().contains(Capability.ONE_SHOT);
        this.fdOf = fdOf;
        this.batchSockets = new Object[maxEvents];
        this.batchFds = new int[maxEvents];
        this.batchOps = new int[maxEvents];
        this.batchGenerations = new int[maxEvents];
        this.batchStates = new int[maxEvents];
        Backend b = provider.open(maxEvents);
        SelfPipe pipe = null;
        try {
            pipe = new SelfPipe(libc);
            b.register(pipe.readFd(), WAKEUP_TOKEN, Backend.READ, Backend.LEVEL);
        } catch (IOException | RuntimeException | Error e) {
            if (pipe != null) {
                pipe.close();
            }
            b.close();
            throw e;
        }
        this.backend = b;
        this.wakeupPipe = pipe;
        this.interruptHook = new InterruptHook(pipe);
        this.changesNeedWakeup = b.changesNeedWakeup();
        this.peerProbe = capabilities.contains(Capability.KERNEL_PEER_CLOSED) ? null
                : new PeerProbe(libc, pollRdhup, maxEvents);
    }

    /**
     * What a queue on {@code provider} offers: the backend's own capabilities, plus {@link
     * Capability#ONE_SHOT}, which core emulates (disable after delivery) where the kernel lacks it.
     *
     * @param provider the backend
     * @return an unmodifiable set
     */
    public static Set<Capability> capabilitiesOf(BackendProvider provider) {
        EnumSet<Capability> set = EnumSet.noneOf(Capability.class);
        set.addAll(provider.capabilities());
        set.add(Capability.ONE_SHOT);
        return Collections.unmodifiableSet(set);
    }

    // ---------------------------------------------------------------- interest changes

    @Override
    public void subscribeRead(S socket) throws IOException {
        change(socket, SocketEvent.READ, 0, null);
    }

    @Override
    public void subscribeWrite(S socket) throws IOException {
        change(socket, SocketEvent.WRITE, 0, null);
    }

    @Override
    public void subscribeReadWrite(S socket) throws IOException {
        change(socket, SocketEvent.READ | SocketEvent.WRITE, 0, null);
    }

    @Override
    public void subscribe(S socket, int ops, Trigger trigger) throws IOException {
        Objects.requireNonNull(trigger, "trigger");
        if (ops == 0 || (ops & ~(SocketEvent.READ | SocketEvent.WRITE)) != 0) {
            throw new IllegalArgumentException("ops must be READ, WRITE or READ|WRITE, not "
                    + SocketEvent.opsToString(ops));
        }
        change(socket, ops, 0, trigger);
    }

    @Override
    public void disableRead(S socket) throws IOException {
        change(socket, 0, SocketEvent.READ, null);
    }

    @Override
    public void disableWrite(S socket) throws IOException {
        change(socket, 0, SocketEvent.WRITE, null);
    }

    @Override
    public void disableReadWrite(S socket) throws IOException {
        change(socket, 0, SocketEvent.READ | SocketEvent.WRITE, null);
    }

    /**
     * Subscribes {@code add} and disables {@code disable} for {@code socket}, then brings the kernel
     * set in line. The table is only written after the backend call succeeded.
     */
    private void change(S socket, int add, int disable, Trigger trigger) throws IOException {
        Objects.requireNonNull(socket, "socket");
        if (add != 0 && socket instanceof Channel && !((Channel) socket).isOpen()) {
            // Its fd number may be another file's by now: watching it would watch that file.
            throw new ClosedChannelException();
        }
        int fd = fdOf.applyAsInt(socket);
        synchronized (stateLock) {
            ensureOpen();
            S current = table.socket(fd);
            if (current != socket) {
                if (add == 0) {
                    return; // disabling a socket the queue does not know: nothing to do
                }
                if (current != null) {
                    if (current instanceof Channel && ((Channel) current).isOpen()) {
                        throw new IllegalArgumentException("fd " + fd + " is already watched for " + current
                                + ", which is still open: one fd, one socket (remove or close it first)");
                    }
                    evictStale(fd); // fd number reused: the old socket was closed behind our back
                }
            }
            boolean known = current == socket;
            int old = known ? table.state(fd) : 0;
            int mode = trigger != null ? trigger.ordinal()
                    : known ? InterestTable.trigger(old) : Backend.LEVEL;
            checkSupported(mode);
            int subscribed = InterestTable.subscribed(old) | add;
            int disabled = (InterestTable.disabled(old) | disable) & ~add;
            boolean inKernel = (old & InterestTable.IN_KERNEL) != 0;
            int updated = InterestTable.state(subscribed, disabled, mode, inKernel);
            if (known && updated == old) {
                return; // no change: no system call
            }
            int enabled = InterestTable.enabled(updated);
            int kernelMode = kernelMode(mode);
            long token = known ? table.currentToken(fd) : table.nextToken(fd);
            if (enabled != 0) {
                if (inKernel) {
                    try {
                        backend.reregister(fd, token, enabled, kernelMode, InterestTable.enabled(old),
                                kernelMode(InterestTable.trigger(old)));
                    } catch (RegistrationLostException e) {
                        table.clear(fd); // the backend removed the fd: forget the socket, as it says
                        throw e;
                    }
                } else {
                    backend.register(fd, token, enabled, kernelMode);
                }
                inKernel = true;
            } else if (inKernel) {
                // Nothing enabled: leave the kernel set entirely, so an unmaskable hang-up
                // (EPOLLHUP, EPOLLERR) cannot make every wait return at once.
                deregister(fd, old);
                inKernel = false;
            }
            updated = InterestTable.state(subscribed, disabled, mode, inKernel);
            if (known) {
                table.setState(fd, updated);
            } else {
                table.put(fd, socket, updated, token);
            }
        }
        wakeWaiterForChange();
    }

    /** The trigger the kernel is asked for: an emulated one-shot is level-triggered underneath. */
    private int kernelMode(int mode) {
        return mode == Backend.ONE_SHOT && !nativeOneShot ? Backend.LEVEL : mode;
    }

    /** Takes {@code fd}, whose table state is {@code state}, out of the kernel set. */
    private void deregister(int fd, int state) throws IOException {
        try {
            backend.deregister(fd, table.currentToken(fd), InterestTable.enabled(state),
                    kernelMode(InterestTable.trigger(state)));
        } catch (RegistrationLostException e) {
            // The backend could not put back a partial removal and removed the rest: out, as asked.
        }
    }

    /** Forgets the previous occupant of {@code fd}, which the caller closed without remove. */
    private void evictStale(int fd) {
        if ((table.state(fd) & InterestTable.IN_KERNEL) != 0) {
            try {
                deregister(fd, table.state(fd)); // the new file behind fd is not in the set: a no-op
            } catch (IOException e) {
                // The old registration is gone with its file; nothing is left to undo.
            }
        }
        table.clear(fd);
    }

    private void checkSupported(int mode) {
        if (mode == Backend.EDGE && !capabilities.contains(Capability.EDGE_TRIGGERED)) {
            throw new UnsupportedOperationException("the " + name
                    + " backend has no edge-triggered mode (capabilities: " + capabilities + ")");
        }
    }

    private void wakeWaiterForChange() {
        if (changesNeedWakeup && waiting) {
            wakeupPipe.signal();
        }
    }

    @Override
    public void remove(S socket) throws IOException {
        Objects.requireNonNull(socket, "socket");
        int fd = fdOf.applyAsInt(socket);
        synchronized (stateLock) {
            ensureOpen();
            if (table.socket(fd) != socket) {
                // fdOf may no longer know the fd of a closed socket: look for it.
                fd = table.find(socket);
                if (fd < 0) {
                    return;
                }
            }
            if ((table.state(fd) & InterestTable.IN_KERNEL) != 0) {
                deregister(fd, table.state(fd));
            }
            table.clear(fd);
        }
        wakeWaiterForChange();
    }

    // ---------------------------------------------------------------- queries

    @Override
    public boolean isSubscribedRead(S socket) {
        return (subscribedState(socket) & SocketEvent.READ) != 0;
    }

    @Override
    public boolean isSubscribedWrite(S socket) {
        return (subscribedState(socket) & SocketEvent.WRITE) != 0;
    }

    @Override
    public boolean isDisabledRead(S socket) {
        return (InterestTable.disabled(stateOf(socket)) & SocketEvent.READ) != 0;
    }

    @Override
    public boolean isDisabledWrite(S socket) {
        return (InterestTable.disabled(stateOf(socket)) & SocketEvent.WRITE) != 0;
    }

    private int subscribedState(S socket) {
        return InterestTable.subscribed(stateOf(socket));
    }

    private int stateOf(S socket) {
        Objects.requireNonNull(socket, "socket");
        int fd = fdOf.applyAsInt(socket);
        synchronized (stateLock) {
            ensureOpen();
            return table.socket(fd) == socket ? table.state(fd) : 0;
        }
    }

    // ---------------------------------------------------------------- polling

    @Override
    public List<SocketEvent<S>> poll(Duration timeout) throws IOException {
        List<SocketEvent<S>> events = new ArrayList<>();
        // The collector writes into the list of whichever thread holds pollLock; set it inside.
        pollLocked(timeout, collector, events);
        return events;
    }

    @Override
    public int poll(Duration timeout, SocketEventHandler<S> handler) throws IOException {
        Objects.requireNonNull(handler, "handler");
        return pollLocked(timeout, handler, null);
    }

    private int pollLocked(Duration timeout, SocketEventHandler<S> handler, List<SocketEvent<S>> sink)
            throws IOException {
        long timeoutNanos = toNanos(timeout);
        long start = timeoutNanos > 0 ? System.nanoTime() : 0; // the clock only matters for a real wait
        ensureOpen();
        if (!acquirePollLock(timeoutNanos)) {
            return 0;
        }
        try {
            if (pollLock.getHoldCount() > 1) {
                throw new IllegalStateException("poll called from a handler of the same queue");
            }
            if (sink != null) {
                collected = sink;
            }
            return waitAndDispatch(timeoutNanos, start, handler);
        } finally {
            if (sink != null && pollLock.getHoldCount() == 1) {
                collected = null;
            }
            pollLock.unlock();
            releaseIfClosed();
        }
    }

    /**
     * Takes the poll lock, waiting at most the timeout; false if the time ran out or the thread was
     * interrupted meanwhile (its interrupt status is kept: see {@link EventQueue#poll}).
     */
    private boolean acquirePollLock(long timeoutNanos) {
        if (pollLock.tryLock()) {
            return true;
        }
        try {
            if (timeoutNanos == INFINITE) {
                pollLock.lockInterruptibly();
                return true;
            }
            return pollLock.tryLock(timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private int waitAndDispatch(long timeoutNanos, long start, SocketEventHandler<S> handler) throws IOException {
        long remaining = timeoutNanos <= 0 ? timeoutNanos
                : Math.max(0, timeoutNanos - (System.nanoTime() - start));
        while (true) {
            ensureOpen();
            int n;
            if (remaining == 0) {
                n = backend.poll(0); // does not block: neither changes nor interrupts need to reach it
            } else {
                interruptHook.enter();
                if (changesNeedWakeup) {
                    waiting = true; // only poll and select need to hear of changes made during the wait
                }
                try {
                    n = backend.poll(remaining);
                } finally {
                    if (changesNeedWakeup) {
                        waiting = false;
                    }
                    interruptHook.exit();
                }
            }
            ensureOpen();
            drained = false;
            int delivered = dispatch(n, handler);
            // A wakeup counts for this poll only if its byte was drained here; one made after the
            // drain wrote a new byte and belongs to the next poll.
            boolean woken = drained && userWakeup.getAndSet(false);
            if (delivered > 0 || woken) {
                return delivered;
            }
            if (timeoutNanos == 0 || closed || Thread.currentThread().isInterrupted()) {
                return 0;
            }
            if (timeoutNanos != INFINITE) {
                remaining = timeoutNanos - (System.nanoTime() - start);
                if (remaining <= 0) {
                    return 0;
                }
            }
            // Nothing for the caller yet (EINTR, an internal wake to pick up a change, events only
            // for sockets removed meanwhile): wait again for the time that remains.
        }
    }

    /**
     * Delivers the {@code n} ready events of the last wait; returns how many reached the handler.
     * Two passes, so the state lock is taken once per batch rather than once per event: {@link
     * #resolve} maps tokens to sockets under the lock, then each event is delivered without it,
     * after a check (plain reads of the table, exact for this thread) that no handler earlier in the
     * batch removed the socket, gave its fd to another socket, or disabled the direction (skipped
     * while the table's modification count says nothing was written since the first pass).
     */
    private int dispatch(int n, SocketEventHandler<S> handler) {
        int resolved = resolve(n);
        if (peerProbe != null) {
            peerProbe.prepare(batchFds, batchOps, resolved); // one poll(2) for the batch where it can
        }
        int resolvedModCount = this.resolvedModCount;
        int delivered = 0;
        for (int j = 0; j < resolved; j++) {
            @SuppressWarnings("unchecked")
            S socket = (S) batchSockets[j];
            batchSockets[j] = null; // hold no socket beyond its dispatch
            if (closed) {
                continue;
            }
            int fd = batchFds[j];
            int ops = batchOps[j];
            if (batchStates[j] != EVICTED && table.modCount() != resolvedModCount) {
                if (table.socket(fd) != socket || table.generation(fd) != batchGenerations[j]) {
                    continue; // removed or replaced by a handler earlier in this batch
                }
                int state = table.state(fd);
                if (state != batchStates[j]) {
                    // A handler earlier in this batch changed the interest: report what is still wanted.
                    int wanted = ops & InterestTable.enabled(state);
                    if (wanted == 0) {
                        continue;
                    }
                    ops = wanted | ops & (SocketEvent.PEER_CLOSED | SocketEvent.ERROR);
                }
            }
            if (socket instanceof Channel && !((Channel) socket).isOpen() || fdOf.applyAsInt(socket) != fd) {
                continue; // the handler (or someone) closed it earlier in this batch
            }
            if (peerProbe != null && PeerProbe.wants(ops)) {
                ops |= peerProbe.probe(j, fd);
            }
            handler.onEvent(socket, ops);
            delivered++;
        }
        return delivered;
    }

    /** Marks a batch entry whose socket was evicted (closed behind our back): no table check. */
    private static final int EVICTED = -1;

    /**
     * The first pass of {@link #dispatch}: under the state lock, turns the wait's events into
     * (socket, ops) entries of the batch arrays, dropping stale tokens and directions disabled
     * since the wait began, disarming one-shots and evicting fds the backend reports invalid.
     * Drains the self-pipe if it fired. Returns the number of entries.
     */
    private int resolve(int n) {
        if (n > batchFds.length) {
            throw new IllegalStateException(name + " backend reported " + n + " events for a buffer of " + batchFds.length);
        }
        int m = 0;
        synchronized (stateLock) {
            for (int i = 0; i < n; i++) {
                long token = backend.readyToken(i);
                if (token == WAKEUP_TOKEN) {
                    wakeupPipe.drain();
                    drained = true;
                    continue;
                }
                long current = table.stateIfCurrent(token);
                if (current == InterestTable.STALE) {
                    continue; // removed, or the fd now belongs to another socket
                }
                int state = (int) current;
                int ready = backend.readyOps(i);
                int fd = InterestTable.fdOf(token);
                S socket = table.socket(fd);
                int enabled = InterestTable.enabled(state);
                int ops;
                if ((ready & Backend.INVALID) != 0) {
                    // Closed behind our back and the backend cannot watch it any more: say so once.
                    ops = enabled | SocketEvent.ERROR;
                    evictStale(fd);
                    state = EVICTED;
                } else {
                    ops = ready & enabled;
                    if (ops == 0) {
                        continue; // only for directions disabled since the wait began
                    }
                    ops |= ready & (SocketEvent.PEER_CLOSED | SocketEvent.ERROR);
                    if (InterestTable.trigger(state) == Backend.ONE_SHOT) {
                        disarmOneShot(fd, state);
                        state = table.state(fd);
                    }
                }
                batchSockets[m] = socket;
                batchFds[m] = fd;
                batchOps[m] = ops;
                batchGenerations[m] = InterestTable.generationOf(token);
                batchStates[m] = state;
                m++;
            }
            resolvedModCount = table.modCount();
        }
        return m;
    }

    /** After a one-shot delivery every subscribed direction is disabled until re-subscribed. */
    private void disarmOneShot(int fd, int state) {
        int subscribed = InterestTable.subscribed(state);
        boolean inKernel = (state & InterestTable.IN_KERNEL) != 0;
        if (!nativeOneShot && inKernel) {
            try {
                deregister(fd, state);
                inKernel = false;
            } catch (IOException e) {
                // Leave it registered; the next change retries. Nothing else depends on it.
            }
        }
        // A native one-shot stays in the kernel set, disarmed; reregister re-arms it.
        table.setState(fd, InterestTable.state(subscribed, subscribed, InterestTable.trigger(state), inKernel));
    }

    private static long toNanos(Duration timeout) {
        if (timeout == null) {
            return INFINITE;
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("negative timeout: " + timeout);
        }
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException e) {
            return INFINITE;
        }
        return nanos > FOREVER_NANOS ? INFINITE : nanos;
    }

    // ---------------------------------------------------------------- wakeup and close

    @Override
    public void wakeup() {
        if (closed) {
            return; // polls return anyway; the pipe may be closed (SelfPipe.signal is a no-op then)
        }
        userWakeup.set(true);
        wakeupPipe.signal();
    }

    @Override
    public boolean isOpen() {
        return !closed;
    }

    @Override
    public void close() {
        synchronized (stateLock) {
            closed = true;
        }
        wakeupPipe.signalForever();
        releaseIfClosed();
    }

    /**
     * Releases the kernel object and the pipe once closed and no thread is inside a poll. Called by
     * close and by every poller on its way out, so the last one to leave does it.
     */
    private void releaseIfClosed() {
        if (!closed || released || !pollLock.tryLock()) {
            return;
        }
        try {
            if (pollLock.getHoldCount() > 1) {
                return; // close() from a handler: the poll releases when it returns
            }
            synchronized (stateLock) {
                if (!released) {
                    released = true;
                    backend.close();
                    wakeupPipe.close();
                }
            }
        } finally {
            pollLock.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new ClosedEventQueueException("event queue (" + name + ") is closed");
        }
    }

    /**
     * The backend's {@link Backend#pollableFd()}: readable whenever {@code poll(Duration.ZERO, h)}
     * would dispatch something or has a wakeup to take in (the self-pipe is in the set). Owned by
     * the queue and closed with it.
     *
     * @return the fd, or -1 if the backend has none
     */
    public int pollableFd() {
        return backend.pollableFd();
    }

    @Override
    public String backend() {
        ensureOpen();
        return name;
    }

    @Override
    public Set<Capability> capabilities() {
        ensureOpen();
        return capabilities;
    }

    @Override
    public String toString() {
        return "EventQueue[" + name + (closed ? ", closed" : "") + "]";
    }
}
