package io.polyplex.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Workload 4: every one of 1,000 sockets is subscribed for reading, disabled, re-subscribed and
 * removed; nanoseconds (and, with the gc profiler, bytes) per operation. select has only 900
 * sockets below FD_SETSIZE, so its first 100 go through the cycle twice: 4,000 operations either way.
 *
 * <p>A Polyplex change has reached the kernel when the call returns. java.nio only records a
 * change and applies it in the next select, where changes to one key coalesce, so it is measured
 * twice: {@code nio} with a {@code selectNow()} after every operation (each change applied, as
 * Polyplex does) and {@code nio-batched} with one {@code selectNow()} per pass over the sockets.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class ChurnBenchmark {

    @Param({"epoll", "poll", "select", "nio", "nio-batched"})
    public String impl;

    private Contender contender;
    private int sockets;
    private boolean applyEach;

    @Setup
    public void open() throws IOException {
        boolean batched = impl.equals("nio-batched");
        String name = batched ? "nio" : impl;
        sockets = Workloads.registeredFor(name, Workloads.CHURN_SOCKETS);
        contender = Contender.open(name, sockets / 2);
        applyEach = !batched;
    }

    @Benchmark
    @OperationsPerInvocation(Workloads.CHURN_SOCKETS * Workloads.CHURN_OPS_PER_SOCKET)
    public long churn() throws IOException {
        Contender c = contender;
        boolean each = applyEach;
        int n = sockets;
        for (int k = 0; k < Workloads.CHURN_SOCKETS; k++) {
            int i = k < n ? k : k - n; // select has 900 sockets: the first 100 go round twice
            c.subscribe(i);
            if (each) {
                c.applyChanges();
            }
            c.disable(i);
            if (each) {
                c.applyChanges();
            }
            c.subscribe(i);
            if (each) {
                c.applyChanges();
            }
            c.remove(i);
            if (each) {
                c.applyChanges();
            }
        }
        c.applyChanges();
        return c.sink;
    }

    @TearDown
    public void close() throws IOException {
        contender.close();
    }
}
