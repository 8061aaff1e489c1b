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
 * Workload 3: a wakeup round trip between two threads, each blocked in its own queue's wait: the
 * benchmark thread wakes the echo thread's queue and blocks in its own until the echo thread wakes
 * it back. Nanoseconds per round trip (two wakeups, two blocking waits, two thread switches).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class WakeupBenchmark {

    @Param({"epoll", "poll", "select", "nio"})
    public String impl;

    private Contender mine;
    private Contender echo;
    private Thread echoThread;
    private volatile boolean stop;
    private volatile Throwable echoFailure;

    @Setup
    public void open() throws IOException {
        mine = Contender.open(impl, 0);
        echo = Contender.open(impl, 0);
        echoThread = new Thread(() -> {
            try {
                while (true) {
                    echo.pollUntilWoken();
                    if (stop) {
                        return;
                    }
                    mine.wakeup();
                }
            } catch (Throwable t) {
                echoFailure = t;
                mine.wakeup();
            }
        }, "wakeup-echo");
        echoThread.setDaemon(true);
        echoThread.start();
    }

    @Benchmark
    public int roundTrip() throws IOException {
        echo.wakeup();
        int n = mine.pollUntilWoken();
        if (echoFailure != null) {
            throw new IllegalStateException("echo thread failed", echoFailure);
        }
        return n;
    }

    @TearDown
    public void close() throws IOException, InterruptedException {
        stop = true;
        echo.wakeup();
        echoThread.join(10_000);
        mine.close();
        echo.close();
    }
}
