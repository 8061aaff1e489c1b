package io.polyplex.selector;

import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.SocketEventHandler;
import java.io.IOException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.IllegalSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.nio.channels.spi.AbstractSelector;
import java.time.Duration;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import jnr.enxio.channels.NativeSelectableChannel;

/**
 * The selector: a {@link Selector} over one {@link EventQueue} whose sockets are this selector's
 * keys (see {@link PolyplexSelectorProvider} for the contract it keeps).
 *
 * <h2>Locks</h2>
 * As the JDK specifies: a selection operation holds this selector's monitor, then the selected-key
 * set's, and the cancelled-key set's only while it takes the keys out; {@link #implCloseSelector()}
 * takes the same two monitors in the same order after waking the selection in progress. Neither is
 * taken by {@code register} or by a key's interest change, which go straight to the queue (a
 * channel's register runs under the channel's own locks, which {@link #deregister} also takes, so
 * register must never wait for a selection). Inside the queue, a selection holds the queue's poll
 * lock while the handler runs; an interest change takes the key's private lock and then the queue's
 * state lock, which the queue never holds while calling the handler. So the order is: selector,
 * selected-key set, [queue poll lock], key's private lock, queue state lock (never a key's own monitor,
 * which is its users'); the channel's key lock is taken after
 * the selected-key set and never with the cancelled-key set held.
 *
 * <h2>What a selection allocates</h2>
 * Nothing in steady state: the handler is one object, the timeout's {@link Duration} is kept while
 * it stays the same, the selected-key set grows once, and cancelled keys are taken out through an
 * array kept for it. The {@link java.util.HashSet} the JDK gives every {@link AbstractSelector} for
 * cancelled keys allocates a node per cancelled key ({@link SelectionKey#cancel()} is final and adds
 * the key there), and iterating the selected-key set allocates its iterator, as the API requires.
 */
final class PolyplexSelector extends AbstractSelector {

    /** Timeouts beyond this many milliseconds (about 146 years) wait without limit. */
    private static final long FOREVER_MILLIS = Long.MAX_VALUE / 2 / 1_000_000L;

    private final EventQueue<PolyplexSelectionKey> queue;
    private final Set<SelectionKey> keys = ConcurrentHashMap.newKeySet();
    private final Set<SelectionKey> publicKeys = Collections.unmodifiableSet(keys);
    private final SelectedKeys selected = new SelectedKeys(this);
    private final SocketEventHandler<PolyplexSelectionKey> handler = this::onEvent;

    /**
     * A wakeup was asked for since the last selection returned. The queue coalesces wakeups and
     * consumes one when its wait drains the pipe, even in a wait that also returned events; this
     * flag lets a selection whose events all turned out dead (see {@link #selectLocked}) know that
     * it must return rather than wait again. Cleared when a selection returns: a wakeup after that
     * belongs to the next selection, which the queue's own pending wakeup ends.
     */
    private volatile boolean woken;
    /** The first interest change the kernel refused since the last selection; thrown by the next. */
    private IOException failure;
    private final Object failureLock = new Object();

    // The rest is touched only by the thread that holds this selector's monitor (the selecting one).
    private boolean inSelect;
    /** The action of a Consumer form, or null. */
    private Consumer<SelectionKey> action;
    /** Keys whose ready set this selection updated (or that its action consumed). */
    private int updated;
    /** Events of this wait that reached a valid key of an open channel. */
    private int live;
    private long lastTimeoutMillis = -1;
    private Duration lastTimeout;
    private PolyplexSelectionKey[] cancelledBatch = new PolyplexSelectionKey[16];

    PolyplexSelector(PolyplexSelectorProvider provider, EventQueue<PolyplexSelectionKey> queue) {
        super(provider);
        this.queue = queue;
    }

    EventQueue<PolyplexSelectionKey> queue() {
        return queue;
    }

    /** Which backend the queue runs on (for messages and tests). */
    String backend() {
        return queue.backend();
    }

    // ---------------------------------------------------------------- registration

    @Override
    protected SelectionKey register(AbstractSelectableChannel ch, int ops, Object attachment) {
        if (!(ch instanceof NativeSelectableChannel)) {
            throw new IllegalSelectorException();
        }
        ensureOpen();
        PolyplexSelectionKey k = new PolyplexSelectionKey(this, ch, ((NativeSelectableChannel) ch).getFD());
        k.attach(attachment);
        keys.add(k);
        try {
            k.interestOps(ops);
        } catch (java.nio.channels.CancelledKeyException e) {
            // The channel was closed meanwhile (or the selector): the key is cancelled, as the JDK's
            // would be; the channel's register still returns it.
        }
        if (!isOpen()) {
            // Closed while registering: close() may have missed this key.
            keys.remove(k);
            k.cancel();
            throw new ClosedSelectorException();
        }
        return k;
    }

    /** An interest change the kernel refused: the next selection operation throws it. */
    void changeFailed(IOException e) {
        synchronized (failureLock) {
            if (failure == null) {
                failure = e;
            }
        }
    }

    // ---------------------------------------------------------------- key sets

    @Override
    public Set<SelectionKey> keys() {
        ensureOpen();
        return publicKeys;
    }

    @Override
    public Set<SelectionKey> selectedKeys() {
        ensureOpen();
        return selected;
    }

    // ---------------------------------------------------------------- selection

    @Override
    public int selectNow() throws IOException {
        return doSelect(null, 0);
    }

    @Override
    public int select(long timeout) throws IOException {
        if (timeout < 0) {
            throw new IllegalArgumentException("Negative timeout");
        }
        return doSelect(null, timeout == 0 ? -1 : timeout);
    }

    @Override
    public int select() throws IOException {
        return doSelect(null, -1);
    }

    @Override
    public int select(Consumer<SelectionKey> action, long timeout) throws IOException {
        Objects.requireNonNull(action, "action");
        if (timeout < 0) {
            throw new IllegalArgumentException("Negative timeout");
        }
        return doSelect(action, timeout == 0 ? -1 : timeout);
    }

    @Override
    public int select(Consumer<SelectionKey> action) throws IOException {
        Objects.requireNonNull(action, "action");
        return doSelect(action, -1);
    }

    @Override
    public int selectNow(Consumer<SelectionKey> action) throws IOException {
        Objects.requireNonNull(action, "action");
        return doSelect(action, 0);
    }

    /**
     * One selection operation. {@code timeoutMillis}: -1 waits until something happens, 0 does not
     * block, otherwise at most that long.
     */
    private int doSelect(Consumer<SelectionKey> action, long timeoutMillis) throws IOException {
        synchronized (this) {
            ensureOpen();
            if (inSelect) {
                throw new IllegalStateException("select in progress");
            }
            inSelect = true;
            try {
                synchronized (selected) {
                    return selectLocked(action, timeoutMillis);
                }
            } finally {
                inSelect = false;
                this.action = null;
            }
        }
    }

    private int selectLocked(Consumer<SelectionKey> action, long timeoutMillis) throws IOException {
        processCancelledKeys();
        throwFailure();
        this.action = action;
        updated = 0;
        if (timeoutMillis > FOREVER_MILLIS) {
            timeoutMillis = -1; // about 146 years: no limit, and no overflow below
        }
        Duration timeout = timeoutMillis < 0 ? null : timeoutMillis == 0 ? Duration.ZERO : duration(timeoutMillis);
        long deadline = timeoutMillis > 0 ? System.nanoTime() + timeoutMillis * 1_000_000L : 0;
        while (true) {
            live = 0;
            int delivered;
            try {
                delivered = queue.poll(timeout, handler);
            } catch (ClosedEventQueueException e) {
                if (isOpen()) {
                    throw e;
                }
                throw new ClosedSelectorException(); // closed from the action, within this selection
            }
            // The queue returned with no event (a wakeup, the timeout, an interrupt, no wait at all),
            // or with events of which at least one reached a live key: this selection is done. Only
            // if every event was for a key cancelled or closed meanwhile (each now out of the queue)
            // does it wait again, for the time that remains.
            if (delivered == 0 || live > 0 || timeoutMillis == 0 || !isOpen() || woken
                    || Thread.currentThread().isInterrupted()) {
                break;
            }
            if (timeoutMillis > 0) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    break;
                }
                timeout = Duration.ofNanos(remaining);
            }
        }
        woken = false;
        processCancelledKeys();
        return updated;
    }

    /** The Duration of {@code millis}, kept while the caller keeps asking for the same one. */
    private Duration duration(long millis) {
        if (millis != lastTimeoutMillis) {
            lastTimeout = Duration.ofMillis(millis);
            lastTimeoutMillis = millis;
        }
        return lastTimeout;
    }

    /** The queue's handler: one ready key of this wait, on the selecting thread. */
    private void onEvent(PolyplexSelectionKey k, int events) {
        if (!k.isValid() || !k.channelOpen()) {
            // Cancelled, or its channel closed (its fd may already name another file): never report
            // it, and take its fd out of the queue now, so a level-triggered wait does not return
            // for it again. A closed channel's key is cancelled here if its channel has not done it yet.
            if (k.isValid()) {
                k.cancel();
            }
            k.forget();
            return;
        }
        live++;
        int ready = k.translate(events);
        if (ready == 0) {
            return;
        }
        Consumer<SelectionKey> a = action;
        if (a != null) {
            k.ready(ready);
            updated++;
            a.accept(k);
            if (!isOpen()) {
                throw new ClosedSelectorException();
            }
        } else if (k.selectedIndex >= 0) {
            int old = k.ready();
            if ((old | ready) != old) {
                k.ready(old | ready);
                updated++;
            }
        } else {
            k.ready(ready);
            selected.addKey(k);
            updated++;
        }
    }

    private void throwFailure() throws IOException {
        IOException e;
        synchronized (failureLock) {
            e = failure;
            failure = null;
        }
        if (e != null) {
            throw e;
        }
    }

    /**
     * Steps 1 and 3 of a selection: every cancelled key leaves the key sets and the queue, and its
     * channel is deregistered. The keys are taken out of the cancelled-key set first and dealt with
     * after its monitor is released: deregistering takes the channel's key lock, and a thread that
     * registers on a closed selector cancels its key while holding that lock.
     */
    private void processCancelledKeys() {
        Set<SelectionKey> cancelled = cancelledKeys();
        int n;
        synchronized (cancelled) {
            if (cancelled.isEmpty()) {
                return;
            }
            n = cancelled.size();
            if (cancelledBatch.length < n) {
                cancelledBatch = new PolyplexSelectionKey[Math.max(n, cancelledBatch.length * 2)];
            }
            int i = 0;
            for (SelectionKey k : cancelled) {
                cancelledBatch[i++] = (PolyplexSelectionKey) k;
            }
            cancelled.clear();
        }
        for (int i = 0; i < n; i++) {
            PolyplexSelectionKey k = cancelledBatch[i];
            cancelledBatch[i] = null;
            k.forget();
            selected.remove(k);
            keys.remove(k);
            deregisterFromChannel(k);
        }
    }

    /**
     * Deregisters {@code k} from its channel, which invalidates it, unless the channel never took
     * it: a registration that failed because this selector was closed meanwhile cancels its key
     * without the channel ever adding it (and the JDK's channel code throws on removing a key from a
     * channel that never had one). Asking the channel takes its key lock, so a registration still in
     * progress is waited for, and its key is deregistered once the channel has it.
     */
    private void deregisterFromChannel(PolyplexSelectionKey k) {
        if (k.channel().keyFor(this) == k) {
            deregister(k);
        }
    }

    // ---------------------------------------------------------------- wakeup and close

    @Override
    public Selector wakeup() {
        if (isOpen()) {
            woken = true;
            queue.wakeup(); // a no-op if the queue was closed meanwhile
        }
        return this;
    }

    @Override
    protected void implCloseSelector() throws IOException {
        queue.wakeup(); // the selection in progress returns, and releases the monitors
        synchronized (this) {
            synchronized (selected) {
                queue.close();
                for (SelectionKey k : keys) {
                    deregisterFromChannel((PolyplexSelectionKey) k);
                }
                keys.clear();
                selected.clear();
                Set<SelectionKey> cancelled = cancelledKeys();
                synchronized (cancelled) {
                    cancelled.clear();
                }
            }
        }
    }

    private void ensureOpen() {
        if (!isOpen()) {
            throw new ClosedSelectorException();
        }
    }

    @Override
    public String toString() {
        return "PolyplexSelector[" + (isOpen() ? queue.backend() + ", " + keys.size() + " keys" : "closed") + "]";
    }
}
