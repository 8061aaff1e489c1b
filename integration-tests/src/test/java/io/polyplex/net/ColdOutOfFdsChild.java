package io.polyplex.net;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import jnr.constants.platform.OpenFlags;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The child process of {@link BlockingAcceptorTest#aColdJvmOutOfDescriptorsKeepsAcceptingAndItsTimeZone}:
 * a JVM that has never logged nor asked for a time zone (a server that prints with {@code
 * System.out}, as the README's examples do) runs out of descriptors while an acceptor waits. The
 * first refusal is the first log record the JVM formats, and the default formatter's time stamp
 * needs the time-zone data, a file to open. Commands on stdin: {@code fill} (open /dev/null until
 * EMFILE, then say {@code full}), {@code free} (close those, {@code freed}), {@code report} (once a
 * client has been accepted after {@code free}, or after 10 s: what accept() threw, the counts, and
 * whether the time-zone rules still load).
 */
public final class ColdOutOfFdsChild {

    public static void main(String[] args) throws Exception {
        POSIX posix = POSIXFactory.getNativePOSIX();
        NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 16);
        BlockingAcceptor acceptor = new BlockingAcceptor(server, args[0]);
        AtomicInteger accepted = new AtomicInteger();
        AtomicReference<Throwable> threw = new AtomicReference<>();
        Thread loop = new Thread(() -> {
            while (true) {
                try {
                    NativeSocketChannel c = acceptor.accept();
                    if (c == null) {
                        return;
                    }
                    accepted.incrementAndGet();
                    c.close();
                } catch (Throwable e) {
                    threw.compareAndSet(null, e);
                    if (e instanceof Error) {
                        return;
                    }
                }
            }
        }, "acceptor");
        loop.setDaemon(true);
        loop.start();
        int readOnly = OpenFlags.O_RDONLY.intValue();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("port " + ((InetSocketAddress) NativeSockets.localAddress(server.getFD())).getPort());
        System.out.flush();
        List<Integer> fillers = new ArrayList<>();
        int acceptedBeforeFree = 0;
        for (String cmd; (cmd = in.readLine()) != null; ) {
            switch (cmd) {
                case "fill" -> {
                    for (int fd; (fd = posix.open("/dev/null", readOnly, 0)) >= 0; ) {
                        fillers.add(fd);
                    }
                    System.out.println("full");
                }
                case "free" -> {
                    fillers.forEach(posix::close);
                    fillers.clear();
                    acceptedBeforeFree = accepted.get();
                    System.out.println("freed");
                }
                case "report" -> {
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (accepted.get() == acceptedBeforeFree && loop.isAlive() && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                    String zone;
                    try {
                        java.time.ZoneId.systemDefault().getRules();
                        zone = "ok";
                    } catch (Throwable e) {
                        zone = e.toString();
                    }
                    System.out.println("threw=" + (threw.get() == null ? "nothing" : threw.get())
                            + " refused=" + acceptor.refusedForLackOfFds()
                            + " acceptedAfterFree=" + (accepted.get() - acceptedBeforeFree) + " zone=" + zone);
                    acceptor.shutdown();
                    System.out.flush();
                    return;
                }
                default -> System.out.println("? " + cmd);
            }
            System.out.flush();
        }
    }
}
