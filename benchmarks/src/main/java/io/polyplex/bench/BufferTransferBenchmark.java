package io.polyplex.bench;

import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import jnr.enxio.channels.NativeSocketChannel;
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
 * What a heap buffer costs against a direct one in {@link NativeSockets#send} and {@link
 * NativeSockets#recv}, at every size from a small message to 64 MiB: one operation moves {@code
 * size} bytes from one end of an AF_UNIX socketpair to the other, in one thread, sending and
 * receiving alternately (non-blocking) until every byte has arrived. The buffers are the same kind
 * on both sides. A heap buffer's bytes pass through bounded direct memory (the JDK's way), so its
 * cost should stay within a small factor of the direct buffer's at every size; jnr-ffi's own heap
 * marshalling, which copied the whole position-to-limit region both ways on every call, cost 75-150x
 * at 64 MiB. Run with {@code -prof gc} to see that neither kind allocates per operation.
 *
 * <pre>java -jar benchmarks/target/polyplex-benchmarks.jar BufferTransferBenchmark -prof gc</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BufferTransferBenchmark {

    @Param({"64", "4096", "65536", "1048576", "67108864"})
    public int size;

    @Param({"heap", "direct"})
    public String kind;

    private NativeSocketChannel[] pair;
    private ByteBuffer src;
    private ByteBuffer dst;

    @Setup
    public void open() throws IOException {
        pair = NativeSockets.socketPair();
        src = "heap".equals(kind) ? ByteBuffer.allocate(size) : ByteBuffer.allocateDirect(size);
        dst = "heap".equals(kind) ? ByteBuffer.allocate(size) : ByteBuffer.allocateDirect(size);
        for (int i = 0; i < size; i++) {
            src.put(i, (byte) i);
        }
    }

    @TearDown
    public void close() throws IOException {
        pair[0].close();
        pair[1].close();
    }

    @Benchmark
    public int transfer() throws IOException {
        src.clear();
        dst.clear();
        int out = pair[0].getFD();
        int in = pair[1].getFD();
        while (dst.hasRemaining()) {
            if (src.hasRemaining()) {
                NativeSockets.send(out, src);
            }
            if (NativeSockets.recv(in, dst) < 0) {
                throw new IOException("end of stream after " + dst.position() + " bytes");
            }
        }
        return dst.get(size - 1);
    }
}
