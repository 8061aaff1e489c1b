package io.polyplex.selector;

import io.polyplex.ClosedEventQueueException;
import io.polyplex.SocketEvent;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.nio.channels.spi.AbstractSelectionKey;

/**
 * A key of a {@link PolyplexSelector}: the socket object of its {@link io.polyplex.EventQueue}.
 *
 * <p>The interest set is a volatile field; every change to it is applied to the queue under this
 * key's private lock (so two threads changing one key leave the kernel with the last value), before
 * the call returns. {@link #applied} is what the queue was last told, in Polyplex's directions; a change
 * the kernel refuses leaves it as it was, and the failure is handed to the selector, which throws it
 * from its next selection operation. The ready set is written by the selecting thread only;
 * {@link #selectedIndex} belongs to {@link SelectedKeys}.
 */
final class PolyplexSelectionKey extends AbstractSelectionKey {

    private static final VarHandle INTEREST;

    static {
        try {
            INTEREST = MethodHandles.lookup().findVarHandle(PolyplexSelectionKey.class, "interest", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final PolyplexSelector selector;
    private final AbstractSelectableChannel channel;
    /** The channel's fd, read once at registration; the queue's fdOf. */
    private final int fd;
    /** The channel is a {@link SocketChannel}: OP_CONNECT and OP_WRITE depend on its connection state. */
    private final boolean socketChannel;

    /**
     * Guards {@link #applied}, {@link #known} and every change to the queue for this key. Not the
     * key's own monitor, which belongs to its users (the JDK's default {@code interestOpsOr}
     * synchronizes on it, and so may they): a selection that takes this lock in its handler must
     * never wait for a user who holds the key and waits for the selection.
     */
    private final Object lock = new Object();
    private volatile int interest;
    private volatile int ready;
    /** Polyplex directions the queue was last asked for; guarded by {@link #lock}. */
    private int applied;
    /** The queue has heard of this key (so cancelling it must tell the queue); guarded by {@link #lock}. */
    private boolean known;
    /** Index in the selected-key set, or -1; owned by {@link SelectedKeys}. */
    int selectedIndex = -1;

    PolyplexSelectionKey(PolyplexSelector selector, AbstractSelectableChannel channel, int fd) {
        this.selector = selector;
        this.channel = channel;
        this.fd = fd;
        this.socketChannel = channel instanceof SocketChannel;
    }

    /** The queue's fdOf: the fd the channel had when it was registered. */
    int fd() {
        return fd;
    }

    @Override
    public SelectableChannel channel() {
        return channel;
    }

    @Override
    public Selector selector() {
        return selector;
    }

    /** Whether the channel is still open (it is closed before its keys are cancelled). */
    boolean channelOpen() {
        return channel.isOpen();
    }

    @Override
    public int interestOps() {
        ensureValid();
        return interest;
    }

    @Override
    public SelectionKey interestOps(int ops) {
        ensureValid();
        checkValid(ops);
        synchronized (lock) {
            interest = ops;
            apply();
        }
        return this;
    }

    @Override
    public int interestOpsOr(int ops) {
        ensureValid();
        checkValid(ops);
        synchronized (lock) {
            int old = (int) INTEREST.getAndBitwiseOr(this, ops);
            apply();
            return old;
        }
    }

    @Override
    public int interestOpsAnd(int ops) {
        ensureValid();
        synchronized (lock) {
            int old = (int) INTEREST.getAndBitwiseAnd(this, ops);
            apply();
            return old;
        }
    }

    private void checkValid(int ops) {
        if ((ops & ~channel.validOps()) != 0) {
            throw new IllegalArgumentException("interest ops 0x" + Integer.toHexString(ops) + " not valid for "
                    + channel + " (valid: 0x" + Integer.toHexString(channel.validOps()) + ")");
        }
    }

    private void ensureValid() {
        if (!isValid()) {
            throw new CancelledKeyException();
        }
    }

    /**
     * Brings the queue in line with the interest set: subscribes the directions it now wants and
     * disables those it no longer wants (disabled rather than removed, so the queue keeps the socket
     * and the kernel forgets the fd). A channel found closed is cancelled instead: its fd may by now
     * belong to another file, which must never be watched under this key.
     */
    private void apply() {
        if (!channel.isOpen()) {
            cancelAndForget();
            throw new CancelledKeyException();
        }
        int wanted = directions(interest);
        if (wanted == applied) {
            return;
        }
        try {
            int add = wanted & ~applied;
            int drop = applied & ~wanted;
            if (drop != 0) {
                if (drop == (SocketEvent.READ | SocketEvent.WRITE)) {
                    selector.queue().disableReadWrite(this);
                } else if (drop == SocketEvent.READ) {
                    selector.queue().disableRead(this);
                } else {
                    selector.queue().disableWrite(this);
                }
                applied &= ~drop;
            }
            if (add != 0) {
                known = true;
                if (add == (SocketEvent.READ | SocketEvent.WRITE)) {
                    selector.queue().subscribeReadWrite(this);
                } else if (add == SocketEvent.READ) {
                    selector.queue().subscribeRead(this);
                } else {
                    selector.queue().subscribeWrite(this);
                }
                applied |= add;
            }
        } catch (ClosedEventQueueException e) {
            throw new CancelledKeyException(); // the selector closed meanwhile: it deregisters this key
        } catch (IOException e) {
            if (!channel.isOpen()) {
                // Closed while we changed it (EBADF, or ENOENT for a number reused meanwhile): the
                // close cancels this key; that is no failure of the selector's.
                cancelAndForget();
                throw new CancelledKeyException();
            }
            selector.changeFailed(e);
        }
        if (!channel.isOpen()) {
            // Closed while we registered: the fd number may already name another file.
            cancelAndForget();
            throw new CancelledKeyException();
        }
    }

    /**
     * Cancels this key and takes its fd out of the queue now. The channel was closed (by another
     * thread, or its fd natively): its own cancel of this key may not have happened yet, and until
     * the queue forgets the fd, poll and select would watch whatever file gets that number next.
     */
    void cancelAndForget() {
        cancel();
        forget();
    }

    /** Takes this key out of the queue, if the queue ever heard of it; keeps the key otherwise. */
    void forget() {
        synchronized (lock) {
            if (!known) {
                return;
            }
            known = false;
            applied = 0;
            try {
                selector.queue().remove(this);
            } catch (ClosedEventQueueException e) {
                // The selector is closed: the queue has forgotten everything.
            } catch (IOException e) {
                // remove succeeds for an fd already gone; any other refusal leaves a registration
                // whose events are dropped (this key is invalid) and which the selector's close ends.
            }
        }
    }

    /** Polyplex directions for a set of selection operations. */
    static int directions(int ops) {
        int d = 0;
        if ((ops & (OP_READ | OP_ACCEPT)) != 0) {
            d |= SocketEvent.READ;
        }
        if ((ops & (OP_WRITE | OP_CONNECT)) != 0) {
            d |= SocketEvent.WRITE;
        }
        return d;
    }

    /**
     * The selection operations an event with Polyplex bits {@code events} makes ready, given the
     * interest set: a socket error or a hang-up makes every interest ready (as the JDK reports
     * POLLERR and POLLHUP). Writability makes OP_CONNECT ready only while a {@link SocketChannel}'s
     * connection is pending, and then not OP_WRITE (the state is read only for a key interested in
     * OP_CONNECT).
     */
    int translate(int events) {
        int interest = this.interest;
        int r;
        if ((events & SocketEvent.ERROR) != 0) {
            r = interest;
        } else {
            r = 0;
            if ((events & SocketEvent.READ) != 0) {
                r |= interest & (OP_READ | OP_ACCEPT);
            }
            if ((events & SocketEvent.WRITE) != 0) {
                r |= interest & (OP_WRITE | OP_CONNECT);
                if (socketChannel && (r & OP_CONNECT) != 0) {
                    r &= ((SocketChannel) channel).isConnectionPending() ? ~OP_WRITE : ~OP_CONNECT;
                }
            }
        }
        return r;
    }

    @Override
    public int readyOps() {
        ensureValid();
        return ready;
    }

    /** The ready set as the selecting thread sees it, valid or not. */
    int ready() {
        return ready;
    }

    void ready(int ops) {
        ready = ops;
    }

    /** The interest set, without the validity check. */
    int interest() {
        return interest;
    }

    @Override
    public String toString() {
        return "PolyplexSelectionKey[fd=" + fd + (isValid() ? ", interest=0x" + Integer.toHexString(interest)
                + ", ready=0x" + Integer.toHexString(ready) : ", cancelled") + ", " + channel + "]";
    }
}
