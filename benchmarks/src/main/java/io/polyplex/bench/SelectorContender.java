package io.polyplex.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import java.util.function.Consumer;

/**
 * A {@link Selector} contender (the JDK's, jnr-enxio's or Polyplex's): every operation in the
 * selector API's own terms, so they differ only in where their channels and selector come from.
 */
abstract class SelectorContender<C extends SelectableChannel & java.nio.channels.ByteChannel> extends Contender {

    final C[] ends;
    private final SelectionKey[] keys;
    private Selector selector;
    private final Consumer<SelectionKey> handler = k -> sink += k.readyOps();
    final ByteBuffer one = ByteBuffer.allocateDirect(1);

    SelectorContender(C[] ends) {
        this.ends = ends;
        this.keys = new SelectionKey[ends.length];
    }

    /** Sets the selector once the subclass has its channels; closes them if opening it failed. */
    final void open(SelectorOpener opener) throws IOException {
        try {
            selector = opener.open();
        } catch (IOException | RuntimeException e) {
            closeEnds();
            throw e;
        }
    }

    /** Opens the contender's selector. */
    interface SelectorOpener {
        Selector open() throws IOException;
    }

    @Override
    int endpoints() {
        return ends.length;
    }

    @Override
    void subscribe(int i) throws IOException {
        SelectionKey k = keys[i];
        if (k != null && k.isValid()) {
            k.interestOps(SelectionKey.OP_READ);
        } else {
            keys[i] = ends[i].register(selector, SelectionKey.OP_READ);
        }
    }

    @Override
    void disable(int i) {
        keys[i].interestOps(0);
    }

    @Override
    void remove(int i) {
        keys[i].cancel();
    }

    @Override
    int pollNow() throws IOException {
        return selector.selectNow(handler);
    }

    /**
     * One non-blocking selection in the selected-key form most programs use: selectNow, then every
     * selected key read and removed through the set's iterator. Returns the keys handled.
     */
    int selectNowIterating() throws IOException {
        selector.selectNow();
        int n = 0;
        for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); ) {
            sink += it.next().readyOps();
            it.remove();
            n++;
        }
        return n;
    }

    @Override
    int pollUntilWoken() throws IOException {
        return selector.select(handler);
    }

    @Override
    void wakeup() {
        selector.wakeup();
    }

    @Override
    void applyChanges() throws IOException {
        selector.selectNow();
    }

    @Override
    public void close() throws IOException {
        if (selector != null) {
            selector.close();
        }
        closeEnds();
    }

    final void closeEnds() throws IOException {
        for (C ch : ends) {
            if (ch != null) {
                ch.close();
            }
        }
    }
}
