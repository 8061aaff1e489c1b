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
 * Workload 7: a {@link java.nio.channels.Selector} as programs use it. 10, 1,000 or 10,000
 * registered channels (socketpair ends: jnr-enxio channels for Polyplex's selector and jnr-enxio's
 * PollSelector, the JDK's own AF_UNIX SocketChannels for the JDK's selector), {@value #READY} of them
 * readable for good, level-triggered; per invocation one {@code selectNow()} and every selected key
 * read and removed through the selected-key set's iterator. The score is nanoseconds per ready
 * event; the gc profiler's {@code gc.alloc.rate.norm} is bytes per event ({@value #READY} events
 * make one selection).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class SelectorBenchmark {

    /** Ready channels in every setup (all of them at 10 registered). */
    static final int READY = 10;

    /** {@code selector-epoll}: Polyplex's selector on epoll; {@code enxio}: jnr-enxio's; {@code nio}: the JDK's. */
    @Param({"selector-epoll", "enxio", "nio"})
    public String impl;

    @Param({"10", "1000", "10000"})
    public int registered;

    private SelectorContender<?> contender;

    @Setup
    public void open() throws IOException {
        contender = (SelectorContender<?>) Contender.open(impl, registered / 2);
        for (int i = 0; i < registered; i++) {
            contender.subscribe(i);
        }
        for (int j = 0; j < READY; j++) {
            contender.makeReadable((int) ((long) j * registered / READY));
        }
        contender.applyChanges();
        int n = contender.selectNowIterating();
        if (n != READY) {
            throw new IllegalStateException(impl + ": expected " + READY + " ready, got " + n);
        }
    }

    @Benchmark
    @OperationsPerInvocation(READY)
    public long select() throws IOException {
        if (contender.selectNowIterating() != READY) {
            throw new IllegalStateException(impl + ": lost events");
        }
        return contender.sink;
    }

    @TearDown
    public void close() throws IOException {
        contender.close();
    }
}
