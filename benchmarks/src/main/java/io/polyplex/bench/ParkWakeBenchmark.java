package io.polyplex.bench;

import io.polyplex.ParkingPoller;
import io.polyplex.net.BlockingSockets;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Wake latency of a parked virtual thread: the round trip from an fd becoming readable to the
 * virtual thread blocked on it running again. A virtual thread echoes one byte over an AF_UNIX
 * stream socket; the benchmark thread (a platform thread, in a plain blocking read on its own end,
 * the same in both variants) sends a byte and waits for the echo. Only the virtual thread's side
 * differs:
 * <ul>
 *   <li>{@code polyplex}: a non-blocking native socketpair end read with {@link BlockingSockets}
 *       (parks in a {@link ParkingPoller}, a poller thread unparks it: a virtual one on JDK 21+
 *       over epoll, as the JDK's are);
 *   <li>{@code polyplex-platform-pollers}: the same with platform-thread pollers;
 *   <li>{@code jdk}: a JDK {@link SocketChannel} in blocking mode on a virtual thread (the JDK's own
 *       poller unparks it).
 * </ul>
 * Needs JDK 21+ (virtual threads); on an older JDK the setup fails with a message and the suite
 * reports the workload as not run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class ParkWakeBenchmark {

    @Param({"polyplex", "polyplex-platform-pollers", "jdk"})
    public String impl;

    private final ByteBuffer one = ByteBuffer.allocateDirect(1);
    private final byte[] oneByte = new byte[1];
    private final POSIX posix = POSIXFactory.getNativePOSIX();

    private ParkingPoller poller;
    private NativeSocketChannel[] pair;
    private SocketChannel jdkMine;
    private SocketChannel jdkEcho;
    private Path socketDir;
    private int mineFd;
    private Thread echo;
    private volatile Throwable echoFailure;

    @Setup
    public void open() throws Throwable {
        MethodHandle startVirtual;
        try {
            startVirtual = MethodHandles.publicLookup().findStatic(Thread.class, "startVirtualThread",
                    MethodType.methodType(Thread.class, Runnable.class));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("ParkWakeBenchmark needs JDK 21+ (this is " + Runtime.version() + ")");
        }
        Runnable body;
        if (impl.startsWith("polyplex")) {
            // polyplex: the default (virtual-thread pollers on JDK 21+ over epoll, as the JDK's);
            // polyplex-platform-pollers: the same wait with platform pollers, for the comparison
            poller = ParkingPoller.open((String) null, ParkingPoller.defaultPollers(), impl.equals("polyplex"));
            BlockingSockets io = new BlockingSockets(poller);
            pair = NativeSockets.socketPair();
            NativeSocketChannel echoEnd = pair[1];
            mineFd = pair[0].getFD();
            pair[0].configureBlocking(true); // the benchmark thread's end: a plain blocking read
            body = () -> {
                ByteBuffer b = ByteBuffer.allocateDirect(1);
                try {
                    while (true) {
                        b.clear();
                        if (io.read(echoEnd, b, null) < 0) {
                            return;
                        }
                        b.flip();
                        io.write(echoEnd, b, null);
                    }
                } catch (Throwable t) {
                    echoFailure = t;
                }
            };
        } else {
            socketDir = Files.createTempDirectory("parkwake");
            UnixDomainSocketAddress at = UnixDomainSocketAddress.of(socketDir.resolve("s"));
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(at);
                jdkMine = SocketChannel.open(at);
                jdkEcho = server.accept();
            }
            SocketChannel echoEnd = jdkEcho;
            body = () -> {
                ByteBuffer b = ByteBuffer.allocate(1);
                try {
                    while (true) {
                        b.clear();
                        if (echoEnd.read(b) < 0) {
                            return;
                        }
                        b.flip();
                        echoEnd.write(b);
                    }
                } catch (Throwable t) {
                    echoFailure = t;
                }
            };
        }
        echo = (Thread) startVirtual.invokeExact(body);
    }

    @Benchmark
    public int roundTrip() throws IOException {
        if (poller != null) {
            oneByte[0] = 1;
            if (posix.write(mineFd, oneByte, 1) != 1 || posix.read(mineFd, oneByte, 1) != 1) {
                throw new IllegalStateException("echo failed", echoFailure);
            }
            return oneByte[0];
        }
        one.clear();
        jdkMine.write(one.put((byte) 1).flip());
        one.clear();
        if (jdkMine.read(one) != 1) {
            throw new IllegalStateException("echo failed", echoFailure);
        }
        return one.get(0);
    }

    @TearDown
    public void close() throws IOException, InterruptedException {
        if (pair != null) {
            pair[0].close();
            echo.join(TimeUnit.SECONDS.toMillis(10));
            pair[1].close();
            poller.close();
        }
        if (jdkMine != null) {
            jdkMine.close();
            echo.join(TimeUnit.SECONDS.toMillis(10));
            jdkEcho.close();
            Files.deleteIfExists(socketDir.resolve("s"));
            Files.deleteIfExists(socketDir);
        }
    }

}
