package io.polyplex.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** JMH's standard notices once per suite (none in a smoke run), and nothing else of JMH's lost. */
class JmhOutputTest {

    private static int count(String text, String what) {
        return text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }

    @Test
    void aFullRunPrintsTheNoticesOnceAndEveryOtherLine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        JmhOutput out = new JmhOutput(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
        for (int run = 0; run < 5; run++) {
            out.println("# *** WARNING: Non-forked runs may silently omit JVM options ***");
            out.endRun(List.of());
            out.println("Benchmark result is saved to x.json");
            out.close(); // what the Runner does after each run: the next run still prints
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(1, count(text, "REMEMBER: The numbers below are just data."), text);
        assertEquals(5, count(text, "Non-forked runs"), text);
        assertEquals(5, count(text, "Benchmark result is saved to"), text);
    }

    @Test
    void aSmokeRunPrintsNoNoticesNorNonForkedWarningsNorTemporaryFiles() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        JmhOutput out = new JmhOutput(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        out.println("# Benchmark: io.polyplex.bench.DispatchBenchmark.dispatch");
        out.println("# *** WARNING: Non-forked runs may silently omit JVM options, mess up profilers, etc. ***");
        out.println("# *** WARNING: Use non-forked runs only for debugging purposes, not for actual performance runs. ***");
        out.endRun(List.of());
        out.println("Benchmark result is saved to /tmp/x/jmh-dispatch.json");
        out.close();
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("# Benchmark: io.polyplex.bench.DispatchBenchmark.dispatch"), text);
        assertFalse(text.contains("REMEMBER") || text.contains("WARNING") || text.contains("saved to"), text);
    }
}
