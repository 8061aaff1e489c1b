package io.polyplex.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The JDK's own {@link Selector} (epoll on Linux, kqueue on macOS) over AF_UNIX stream pairs, made
 * with a UNIX-domain server socket because java.nio has no socketpair: the kernel objects and their
 * readiness checks are the same as Polyplex's socketpair(2) ends.
 */
final class NioContender extends SelectorContender<SocketChannel> {

    NioContender(int pairs) throws IOException {
        super(new SocketChannel[2 * pairs]);
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
        } catch (IOException | RuntimeException e) {
            closeEnds();
            throw e;
        } finally {
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
        open(Selector::open);
    }

    @Override
    void makeReadable(int i) throws IOException {
        one.clear();
        ends[i ^ 1].write(one.put(0, (byte) 1));
    }
}
