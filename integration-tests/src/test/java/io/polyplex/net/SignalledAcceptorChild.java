package io.polyplex.net;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.enxio.channels.NativeServerSocketChannel;

/**
 * The child process of {@link BlockingAcceptorTest#shutdownOnSignalEndsEveryAcceptThread}: eight
 * threads blocked in {@code accept()}, and {@link BlockingAcceptor#shutdownOnSignal} installed.
 */
public final class SignalledAcceptorChild {

    public static void main(String[] args) throws Exception {
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 64);
        BlockingAcceptor acceptor = new BlockingAcceptor(server, args[0]);
        AtomicInteger ended = new AtomicInteger();
        java.util.List<Thread> threads = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Thread t = new Thread(() -> {
                try {
                    while (acceptor.accept() != null) {
                        // nobody connects in this test
                    }
                    ended.incrementAndGet();
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            t.start();
            threads.add(t);
        }
        acceptor.shutdownOnSignal(Duration.ofSeconds(20), () -> {
            // Termination means no thread is inside accept(); each still has to count itself.
            for (Thread t : threads) {
                try {
                    t.join(20_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            System.out.println("drained ended=" + ended.get() + " listenerOpen=" + server.isOpen());
            System.out.flush();
        });
        Thread.sleep(300);
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
