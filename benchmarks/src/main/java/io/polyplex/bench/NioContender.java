package io.polyplex.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The JDK's own {@link Selector} (epoll on Linux, kqueue on macOS) over AF_UNIX stream pairs, made
 * with a UNIX-domain server socket because java.nio has no socketpair: the kernel objects and their
 * readiness checks are the same as Polyplex's socketpair(2) ends.
 */
final class NioContender extends Contender {

    private final SocketChannel[] ends;
    private final SelectionKey[] keys;
    private final Selector selector;
    private final Consumer<SelectionKey> handler = k -> sink += k.readyOps();
    private final ByteBuffer one = ByteBuffer.allocateDirect(1);

    NioContender(int pairs) throws IOException {
        ends = new SocketChannel[2 * pairs];
        keys = new SelectionKey[2 * pairs];
        Path dir = Files.createTempDirectory("polyplex-bench");
        Path path = dir.resolve("s");
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(address, 64);
            for (int p = 0; p < pairs; p++) {
                ends[2 * p] = SocketChannel.open(address);
                ends[2 * p + 1] = server.accept();
                ends[2 * p].configureBlocking(false);
                ends[2 * p + 1].configureBlocking(false);
            }
            selector = Selector.open();
        } catch (IOException | RuntimeException e) {
            closeEnds();
            throw e;
        } finally {
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
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
        ends[i ^ 1].write(one.put(0, (byte) 1));
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
        for (SocketChannel ch : ends) {
            if (ch != null) {
                ch.close();
            }
        }
    }
}
