package io.polyplex.net;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import jnr.constants.platform.OpenFlags;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The child process of {@link BlockingAcceptorTest#runningOutOfDescriptorsNeverSpinsAndRecovers}:
 * an echo-once accept loop whose process has no free descriptor left. Commands on stdin: {@code
 * fill} (take any descriptor freed since), {@code measure} (report the acceptor thread's CPU time
 * over a quiet window, the clients refused and the clients served so far), {@code free} (give the
 * descriptors back), {@code quit}.
 */
public final class OutOfFdsChild {

    public static void main(String[] args) throws Exception {
        POSIX posix = POSIXFactory.getNativePOSIX();
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 64);
        BlockingAcceptor acceptor = new BlockingAcceptor(server, args[0]);
        AtomicLong served = new AtomicLong();
        Thread loop = new Thread(() -> {
            try {
                for (NativeSocketChannel c; (c = acceptor.accept()) != null; ) {
                    ByteBuffer b = ByteBuffer.allocate(1);
                    c.configureBlocking(true); // every client sends one byte right after connecting
                    if (c.read(b) == 1) {
                        b.flip();
                        c.write(b);
                    }
                    c.close();
                    served.incrementAndGet();
                }
            } catch (Exception e) {
                e.printStackTrace();
                System.exit(3);
            }
        }, "acceptor");
        loop.start();
        // Load now what the JVM would otherwise open lazily once no descriptor is left: the
        // management library, and the logging stack (its formatter reads the time-zone data).
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        mx.getThreadCpuTime(loop.getId());
        System.getLogger(BlockingAcceptor.class.getName()).log(System.Logger.Level.INFO, "child ready to run out of fds");
        List<Integer> hoard = new ArrayList<>();
        fill(posix, hoard);
        System.out.println("port " + NativeSockets.localAddress(server.getFD()).getPort());
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String cmd; (cmd = in.readLine()) != null; ) {
            switch (cmd) {
                case "measure" -> {
                    long cpu0 = mx.getThreadCpuTime(loop.getId());
                    long t0 = System.nanoTime();
                    Thread.sleep(2000);
                    long cpu = (mx.getThreadCpuTime(loop.getId()) - cpu0) / 1_000_000;
                    long window = (System.nanoTime() - t0) / 1_000_000;
                    System.out.println("cpu " + cpu + " " + window + " " + acceptor.refusedForLackOfFds() + " " + served.get());
                }
                case "fill" -> {
                    fill(posix, hoard);
                    System.out.println("full");
                }
                case "free" -> {
                    for (int fd : hoard) {
                        posix.close(fd);
                    }
                    hoard.clear();
                    System.out.println("freed");
                }
                case "quit" -> {
                    acceptor.shutdown();
                    loop.join(20_000);
                    System.exit(acceptor.awaitTermination(java.time.Duration.ofSeconds(20)) ? 0 : 4);
                }
                default -> System.out.println("? " + cmd);
            }
            System.out.flush();
        }
    }

    /**
     * Fills the descriptor table. Another thread of this JVM may briefly hold a descriptor while we
     * fill it (the JIT reads cgroup files, for one) and leave a hole behind once it lets go: fill
     * again until three rounds, 50 ms apart, find nothing more.
     */
    private static void fill(POSIX posix, List<Integer> hoard) throws InterruptedException {
        for (int quietRounds = 0; quietRounds < 3; ) {
            int before = hoard.size();
            for (int fd; (fd = posix.open("/dev/null", OpenFlags.O_RDONLY.intValue(), 0)) >= 0; ) {
                hoard.add(fd);
            }
            quietRounds = hoard.size() == before ? quietRounds + 1 : 0;
            Thread.sleep(50);
        }
    }
}
