package io.polyplex.bench;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.SocketEventHandler;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.nio.ByteBuffer;
import jnr.enxio.channels.NativeSocketChannel;

/** A Polyplex event queue on one backend, watching jnr-enxio channels of socketpair(2) ends. */
final class PolyplexContender extends Contender {

    private final NativeSocketChannel[] ends;
    private final EventQueue<NativeSocketChannel> queue;
    private final SocketEventHandler<NativeSocketChannel> handler = (s, ops) -> sink += ops;
    private final ByteBuffer one = ByteBuffer.allocateDirect(1);

    PolyplexContender(String backend, int pairs) throws IOException {
        ends = new NativeSocketChannel[2 * pairs];
        try {
            for (int p = 0; p < pairs; p++) {
                NativeSocketChannel[] pair = NativeSockets.socketPair();
                ends[2 * p] = pair[0];
                ends[2 * p + 1] = pair[1];
            }
            queue = EventQueues.open(backend, NativeSocketChannel::getFD);
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
        queue.subscribeRead(ends[i]);
    }

    @Override
    void disable(int i) throws IOException {
        queue.disableRead(ends[i]);
    }

    @Override
    void remove(int i) throws IOException {
        queue.remove(ends[i]);
    }

    @Override
    void makeReadable(int i) throws IOException {
        one.clear();
        NativeSockets.send(ends[i ^ 1].getFD(), one.put(0, (byte) 1));
    }

    @Override
    int pollNow() throws IOException {
        return queue.poll(java.time.Duration.ZERO, handler);
    }

    @Override
    int pollUntilWoken() throws IOException {
        return queue.poll(null, handler);
    }

    @Override
    void wakeup() {
        queue.wakeup();
    }

    @Override
    public void close() throws IOException {
        queue.close();
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
