package io.polyplex.bench;

import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.function.Consumer;
import jnr.enxio.channels.NativeSelectorProvider;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * jnr-enxio's own selector ({@link NativeSelectorProvider}: poll(2) on Linux, kqueue on the BSDs),
 * the selector its native channels come with, over socketpair(2) ends.
 */
final class EnxioContender extends Contender {

    private final NativeSocketChannel[] ends;
    private final SelectionKey[] keys;
    private final Selector selector;
    private final Consumer<SelectionKey> handler = k -> sink += k.readyOps();
    private final ByteBuffer one = ByteBuffer.allocateDirect(1);

    EnxioContender(int pairs) throws IOException {
        ends = new NativeSocketChannel[2 * pairs];
        keys = new SelectionKey[2 * pairs];
        try {
            for (int p = 0; p < pairs; p++) {
                NativeSocketChannel[] pair = NativeSockets.socketPair();
                ends[2 * p] = pair[0];
                ends[2 * p + 1] = pair[1];
            }
            selector = NativeSelectorProvider.getInstance().openSelector();
        } catch (IOException | RuntimeException e) {
            closeEnds();
            throw e;
        }
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
    void makeReadable(int i) throws IOException {
        one.clear();
        NativeSockets.send(ends[i ^ 1].getFD(), one.put(0, (byte) 1));
    }

    @Override
    int pollNow() throws IOException {
        return selector.selectNow(handler);
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

    private void closeEnds() throws IOException {
        for (NativeSocketChannel ch : ends) {
            if (ch != null) {
                ch.close();
            }
        }
    }
}
