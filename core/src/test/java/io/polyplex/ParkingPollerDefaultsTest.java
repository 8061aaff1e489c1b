package io.polyplex;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How many pollers {@link ParkingPoller#open()} starts, for machines of every size, not only the
 * one the build runs on (a 2-core box sees only the lower bound): one per four processors, at least
 * one, at most eight.
 */
class ParkingPollerDefaultsTest {

    @Test
    void onePollerPerFourProcessorsFromOneToEight() {
        Map<Integer, Integer> expected = new LinkedHashMap<>();
        expected.put(1, 1);
        expected.put(2, 1);
        expected.put(3, 1);
        expected.put(4, 1);
        expected.put(7, 1);
        expected.put(8, 2);
        expected.put(11, 2);
        expected.put(12, 3);
        expected.put(16, 4);
        expected.put(31, 7);
        expected.put(32, 8);
        expected.put(33, 8);
        expected.put(36, 8);
        expected.put(64, 8);
        expected.put(1024, 8);
        Map<Integer, Integer> got = new LinkedHashMap<>();
        expected.keySet().forEach(cpus -> got.put(cpus, ParkingPoller.defaultPollers(cpus)));
        assertEquals(expected, got, "processors to pollers");
    }

    @Test
    void thisMachinesDefaultIsTheFormulaForItsProcessors() {
        assertEquals(ParkingPoller.defaultPollers(Runtime.getRuntime().availableProcessors()),
                ParkingPoller.defaultPollers());
    }
}
