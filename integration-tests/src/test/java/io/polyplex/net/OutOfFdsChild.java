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
 * an echo-once accept loop whose process has no free descriptor left (the acceptor holds its
 * spare). Commands on stdin:
 * <ul>
 *   <li>{@code fill}: give the acceptor its spare back if it lost it, and take any other
 *       descriptor freed since;
 *   <li>{@code lose}: the acceptor gives up its spare, leaving one descriptor free, as if another
 *       thread had taken it at a refusal and closed it since;
 *   <li>{@code starve}: the acceptor loses its spare and the freed descriptor is hoarded too, so
 *       it can neither accept nor refuse a client;
 *   <li>{@code measure}: report the acceptor thread's CPU time over a 2 s window, the clients
 *       refused and the clients served so far;
 *   <li>{@code free}: give the descriptors back;
 *   <li>{@code quit}.
 * </ul>
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
        fill(posix, hoard, acceptor);
        System.out.println("port " + ((InetSocketAddress) NativeSockets.localAddress(server.getFD())).getPort());
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
                case "starve" -> {
                    acceptor.loseSpare();
                    for (int fd; (fd = posix.open("/dev/null", OpenFlags.O_RDONLY.intValue(), 0)) >= 0; ) {
                        hoard.add(fd);
                    }
                    System.out.println("starved " + acceptor.holdsSpare());
                }
                case "lose" -> {
                    acceptor.loseSpare();
                    System.out.println("lost");
                }
                case "fill" -> {
                    fill(posix, hoard, acceptor);
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
     * Fills the descriptor table, all but the acceptor's spare. Another thread of this JVM may
     * briefly hold a descriptor while we fill it (the JIT reads cgroup files, for one) and leave a
     * hole behind once it lets go; it may also have taken the acceptor's spare at a refusal, and the
     * hole it left must go back to the acceptor, not to the hoard, or the acceptor can never refuse
     * again. So: fill until three rounds, 50 ms apart, find nothing more and the spare held.
     */
    private static void fill(POSIX posix, List<Integer> hoard, BlockingAcceptor acceptor) throws InterruptedException {
        for (int quietRounds = 0; quietRounds < 3; ) {
            int before = hoard.size();
            if (!acceptor.holdsSpare() && !hoard.isEmpty()) {
                posix.close(hoard.remove(hoard.size() - 1)); // make room for it
            }
            acceptor.retakeSpare();
            for (int fd; (fd = posix.open("/dev/null", OpenFlags.O_RDONLY.intValue(), 0)) >= 0; ) {
                hoard.add(fd);
            }
            quietRounds = hoard.size() == before && acceptor.holdsSpare() ? quietRounds + 1 : 0;
            Thread.sleep(50);
        }
    }
}
