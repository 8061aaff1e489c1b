package io.polyplex.bench;

import io.polyplex.net.NativeSockets;
import io.polyplex.selector.PolyplexSelectorProvider;
import java.io.IOException;
import jnr.enxio.channels.NativeSelectorProvider;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * jnr-enxio channels over socketpair(2) ends under a {@link java.nio.channels.Selector}: jnr-enxio's
 * own ({@link NativeSelectorProvider}: poll(2) on Linux, kqueue on the BSDs), what its channels come
 * with, or Polyplex's ({@link PolyplexSelectorProvider}) on one backend.
 */
final class JnrSelectorContender extends SelectorContender<NativeSocketChannel> {

    /** jnr-enxio's own selector. */
    static JnrSelectorContender enxio(int pairs) throws IOException {
        return new JnrSelectorContender(pairs, () -> NativeSelectorProvider.getInstance().openSelector());
    }

    /** Polyplex's selector on {@code backend}. */
    static JnrSelectorContender polyplex(String backend, int pairs) throws IOException {
        return new JnrSelectorContender(pairs, () -> PolyplexSelectorProvider.forBackend(backend).openSelector());
    }

    private JnrSelectorContender(int pairs, SelectorOpener opener) throws IOException {
        super(new NativeSocketChannel[2 * pairs]);
        try {
            for (int p = 0; p < pairs; p++) {
                NativeSocketChannel[] pair = NativeSockets.socketPair();
                ends[2 * p] = pair[0];
                ends[2 * p + 1] = pair[1];
                pair[0].configureBlocking(false);
                pair[1].configureBlocking(false);
            }
        } catch (IOException | RuntimeException e) {
            closeEnds();
            throw e;
        }
        open(opener);
    }

    @Override
    void makeReadable(int i) throws IOException {
        one.clear();
        NativeSockets.send(ends[i ^ 1].getFD(), one.put(0, (byte) 1));
    }
}
