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
import jnr.constants.platform.OpenFlags;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The child process of {@link BlockingAcceptorTest#runningOutOfDescriptorsNeverSpinsAndRecovers}:
 * an echo-once accept loop whose process has no free descriptor left. Commands on stdin: {@code
 * measure} (report the acceptor thread's CPU time over a quiet window), {@code free} (give the
 * descriptors back), {@code quit}.
 */
public final class OutOfFdsChild {

    public static void main(String[] args) throws Exception {
        POSIX posix = POSIXFactory.getNativePOSIX();
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 64);
        BlockingAcceptor acceptor = new BlockingAcceptor(server, args[0]);
        Thread loop = new Thread(() -> {
            try {
                for (NativeSocketChannel c; (c = acceptor.accept()) != null; ) {
                    ByteBuffer b = ByteBuffer.allocate(1);
                    c.configureBlocking(true); // the client sends one byte right after connecting
                    if (c.read(b) == 1) {
                        b.flip();
                        c.write(b);
                    }
                    c.close();
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
        // Fill the descriptor table.
        List<Integer> hoard = new ArrayList<>();
        while (true) {
            int fd = posix.open("/dev/null", OpenFlags.O_RDONLY.intValue(), 0);
            if (fd < 0) {
                break;
            }
            hoard.add(fd);
        }
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
                    System.out.println("cpu " + cpu + " " + window + " " + acceptor.refusedForLackOfFds());
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
}
