package io.polyplex.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The suite's command line, and the options it gives the end-to-end servers. */
class SuiteTest {

    @Test
    void byDefaultEverythingRunsAndWritesTheCommittedResults() {
        Suite.Settings s = Suite.parse(new String[] {"--floor", "/tmp/floor", "--pinned", "1"});
        assertTrue(s.jmh());
        assertTrue(s.e2e());
        assertEquals(Path.of("benchmarks", "results"), s.results());
        assertEquals(5, s.e2eSeconds());
        assertTrue(s.pinned());
    }

    @Test
    void onlyE2eSkipsJmhAndWritesBesideTheWholeRunNotOverIt() {
        Suite.Settings s = Suite.parse(new String[] {"--only", "e2e", "--e2e-seconds", "10"});
        assertFalse(s.jmh());
        assertTrue(s.e2e());
        assertEquals(10, s.e2eSeconds());
        assertEquals(Suite.ONLY_E2E_RESULTS, s.results());
        assertEquals(Path.of("benchmarks", "results", "e2e-only"), s.results());
    }

    @Test
    void onlyE2eKeepsAResultsDirectoryItIsGiven() {
        Suite.Settings s = Suite.parse(new String[] {"--results", "/tmp/x", "--only", "e2e"});
        assertFalse(s.jmh());
        assertEquals(Path.of("/tmp/x"), s.results());
        assertFalse(s.temporaryResults());
    }

    @Test
    void noE2eStillRunsJmh() {
        Suite.Settings s = Suite.parse(new String[] {"--no-e2e"});
        assertTrue(s.jmh());
        assertFalse(s.e2e());
    }

    @Test
    void badCommandLinesAreRefusedWithAReason() {
        assertTrue(refusal("--only", "dispatch").contains("--only takes e2e"));
        assertTrue(refusal("--only").contains("--only needs a value"));
        assertTrue(refusal("--only", "e2e", "--no-e2e").contains("nothing to run"));
        assertTrue(refusal("--e2e-seconds", "0").contains("positive"));
        assertTrue(refusal("--e2e-seconds", "x").contains("positive"));
        assertTrue(refusal("--fast").contains("unknown option --fast"));
    }

    private static String refusal(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> Suite.parse(args)).getMessage();
    }

    @Test
    void serverCpuIsUserPlusSystemTimeEvenWhenTheNameHasSpacesAndParentheses() {
        String stat = "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 5000 0 0 0 731 129 0 0 20 0 19 0 100 0 0";
        assertEquals(731 + 129, EndToEnd.cpuTicks(stat));
        assertEquals(-1, EndToEnd.cpuTicks(-5), "no such process: no number");
        if (java.nio.file.Files.exists(Path.of("/proc/self/stat"))) {
            assertTrue(EndToEnd.cpuTicks(ProcessHandle.current().pid()) >= 0);
        }
    }

    @Test
    void nettyGetsItsBenchmarkFlagsAndOnlyTheOnesThisJdkAccepts() {
        List<String> on17 = EndToEnd.nettyJvmArgs(17);
        assertEquals(List.of("-Dio.netty.noUnsafe=false", "-Dio.netty.buffer.checkBounds=false",
                "-Dio.netty.buffer.checkAccessible=false"), on17);
        List<String> on25 = EndToEnd.nettyJvmArgs(25);
        assertTrue(on25.containsAll(on17));
        assertTrue(on25.contains("--sun-misc-unsafe-memory-access=allow"), on25.toString());
    }
}
