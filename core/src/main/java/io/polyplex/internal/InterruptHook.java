package io.polyplex.internal;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.nio.channels.spi.AbstractSelector;
import java.nio.channels.spi.SelectorProvider;
import java.util.Set;

/**
 * Makes {@link Thread#interrupt()} end a poll that is blocked in the kernel, the way it ends a
 * java.nio {@link Selector#select()}: between {@link #enter()} and {@link #exit()}, interrupting
 * the thread signals the queue's self-pipe, so its kernel wait returns. The JDK offers exactly this
 * to selector implementations and to nobody else ({@link AbstractSelector#begin()}, which registers
 * an interruptor with the thread that calls {@link #wakeup()}), so this is a selector in name only:
 * it selects nothing, and every selector method but {@code wakeup} refuses.
 *
 * <p>One per queue. {@code enter} and {@code exit} allocate nothing after the first call, and a
 * thread already interrupted when it enters signals the pipe at once.
 */
final class InterruptHook extends AbstractSelector {

    private final SelfPipe pipe;

    InterruptHook(SelfPipe pipe) {
        super(SelectorProvider.provider());
        this.pipe = pipe;
    }

    /** Before a blocking kernel wait: an interrupt from now on wakes it. */
    void enter() {
        begin();
    }

    /** After the wait. */
    void exit() {
        end();
    }

    /** What an interrupt does: an internal wake of the queue's waiter, not a user wakeup. */
    @Override
    public Selector wakeup() {
        pipe.signal();
        return this;
    }

    @Override
    protected void implCloseSelector() {
        // Nothing to release: the pipe belongs to the queue.
    }

    @Override
    protected SelectionKey register(AbstractSelectableChannel ch, int ops, Object att) {
        throw new UnsupportedOperationException("not a selector");
    }

    @Override
    public Set<SelectionKey> keys() {
        throw new UnsupportedOperationException("not a selector");
    }

    @Override
    public Set<SelectionKey> selectedKeys() {
        throw new UnsupportedOperationException("not a selector");
    }

    @Override
    public int selectNow() throws IOException {
        throw new UnsupportedOperationException("not a selector");
    }

    @Override
    public int select(long timeout) throws IOException {
        throw new UnsupportedOperationException("not a selector");
    }

    @Override
    public int select() throws IOException {
        throw new UnsupportedOperationException("not a selector");
    }
}
