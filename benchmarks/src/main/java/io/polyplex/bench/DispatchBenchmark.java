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
 * Workload 1: 1,000 watched endpoints (select: 900), 100 of them readable for good,
 * level-triggered; one non-blocking wait per invocation, every event handed to a handler. The score
 * is nanoseconds per ready event; the gc profiler's {@code gc.alloc.rate.norm} is bytes per event.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class DispatchBenchmark {

    @Param({"epoll", "poll", "select", "nio", "enxio"})
    public String impl;

    private Contender contender;

    @Setup
    public void open() throws IOException {
        int registered = Workloads.registeredFor(impl, Workloads.DISPATCH_REGISTERED);
        contender = Contender.open(impl, registered / 2);
        for (int i = 0; i < registered; i++) {
            contender.subscribe(i);
        }
        Contender.makeReadable(contender, Workloads.DISPATCH_READY);
        contender.applyChanges();
        int n = contender.pollNow();
        if (n != Workloads.DISPATCH_READY) {
            throw new IllegalStateException(impl + ": expected " + Workloads.DISPATCH_READY + " ready, got " + n);
        }
    }

    @Benchmark
    @OperationsPerInvocation(Workloads.DISPATCH_READY)
    public long dispatch() throws IOException {
        if (contender.pollNow() != Workloads.DISPATCH_READY) {
            throw new IllegalStateException(impl + ": lost events");
        }
        return contender.sink;
    }

    @TearDown
    public void close() throws IOException {
        contender.close();
    }
}
