package io.polyplex.bench;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
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
 * Workload 2: 10, 1,000 or 10,000 watched endpoints, one readable; nanoseconds per non-blocking
 * wait (its one event included). A scalable backend stays flat; select and poll grow with the set,
 * and select refuses 10,000 in setup with its FD_SETSIZE error, which the suite reports as the
 * result.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class ScaleBenchmark {

    @Param({"epoll", "poll", "select", "nio"})
    public String impl;

    @Param({"10", "1000", "10000"})
    public int registered;

    private Contender contender;

    @Setup
    public void open() throws IOException {
        contender = open(impl, Workloads.registeredFor(impl, registered));
    }

    /** The setup, public to the suite so it can show the error a backend gives for this size. */
    static Contender open(String impl, int registered) throws IOException {
        Contender c = Contender.open(impl, registered / 2);
        try {
            for (int i = 0; i < registered; i++) {
                c.subscribe(i);
            }
            Contender.makeReadable(c, 1);
            c.applyChanges();
            int n = c.pollNow();
            if (n != 1) {
                throw new IllegalStateException(impl + ": expected 1 ready, got " + n);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    @Benchmark
    public long poll() throws IOException {
        if (contender.pollNow() != 1) {
            throw new IllegalStateException(impl + ": lost the event");
        }
        return contender.sink;
    }

    @TearDown
    public void close() throws IOException {
        contender.close();
    }
}
