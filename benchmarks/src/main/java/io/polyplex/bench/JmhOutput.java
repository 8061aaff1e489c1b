package io.polyplex.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Collection;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * JMH's console output for the suite, which starts JMH once per workload. JMH ends every run with
 * its standard notices (the "REMEMBER: The numbers below are just data..." paragraph and, where
 * compiler blackholes are in use, a NOTE on them) before the run's table: here they appear once, after
 * the first run. A smoke run prints none of them, nor JMH's warning against non-forked runs before
 * each benchmark (a smoke run does not fork, and says at the start that its numbers mean nothing),
 * nor where JMH saved its JSON (in a temporary directory, gone when the smoke run ends).
 * Everything else is JMH's own output. One instance serves every run; closing it only flushes,
 * since its stream is {@code System.out}.
 */
final class JmhOutput implements OutputFormat {

    private final PrintStream out;
    private final OutputFormat jmh;
    private final boolean smoke;
    private boolean noticesShown;

    JmhOutput(PrintStream out, boolean smoke) {
        this.out = out;
        this.jmh = OutputFormatFactory.createFormatInstance(out, VerboseMode.NORMAL);
        this.smoke = smoke;
    }

    @Override
    public void endRun(Collection<RunResult> results) {
        if (smoke || noticesShown) {
            ResultFormatFactory.getInstance(ResultFormatType.TEXT, out).writeOut(results); // the table alone
        } else {
            noticesShown = true;
            jmh.endRun(results); // the notices, then the table
        }
    }

    @Override
    public void println(String s) {
        if (smoke && (s.startsWith("# *** WARNING: Non-forked runs") || s.startsWith("# *** WARNING: Use non-forked runs")
                || s.startsWith("Benchmark result is saved to"))) {
            return;
        }
        jmh.println(s);
    }

    @Override
    public void iteration(BenchmarkParams benchmark, IterationParams params, int iteration) {
        jmh.iteration(benchmark, params, iteration);
    }

    @Override
    public void iterationResult(BenchmarkParams benchmark, IterationParams params, int iteration, IterationResult data) {
        jmh.iterationResult(benchmark, params, iteration, data);
    }

    @Override
    public void startBenchmark(BenchmarkParams benchmark) {
        jmh.startBenchmark(benchmark);
    }

    @Override
    public void endBenchmark(BenchmarkResult result) {
        jmh.endBenchmark(result);
    }

    @Override
    public void startRun() {
        jmh.startRun();
    }

    @Override
    public void print(String s) {
        jmh.print(s);
    }

    @Override
    public void flush() {
        jmh.flush();
    }

    /** Only flushes: the Runner closes its output after each run, and the next run needs it. */
    @Override
    public void close() {
        jmh.flush();
    }

    @Override
    public void verbosePrintln(String s) {
        jmh.verbosePrintln(s);
    }

    @Override
    public void write(int b) {
        jmh.write(b);
    }

    @Override
    public void write(byte[] b) throws IOException {
        jmh.write(b);
    }
}
