package io.polyplex.bench;

import io.polyplex.net.NativeSockets;
import java.io.IOException;
import jnr.enxio.channels.NativeSelectorProvider;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * jnr-enxio's own selector ({@link NativeSelectorProvider}: poll(2) on Linux, kqueue on the BSDs),
 * the selector its native channels come with, over socketpair(2) ends.
 */
final class EnxioContender extends SelectorContender<NativeSocketChannel> {

    EnxioContender(int pairs) throws IOException {
        super(new NativeSocketChannel[2 * pairs]);
        try {
            for (int p = 0; p < pairs; p++) {
                NativeSocketChannel[] pair = NativeSockets.socketPair();
                ends[2 * p] = pair[0];
                ends[2 * p + 1] = pair[1];
            }
        } catch (IOException | RuntimeException e) {
            closeEnds();
            throw e;
        }
        open(() -> NativeSelectorProvider.getInstance().openSelector());
    }

    @Override
    void makeReadable(int i) throws IOException {
        one.clear();
        NativeSockets.send(ends[i ^ 1].getFD(), one.put(0, (byte) 1));
    }
}
