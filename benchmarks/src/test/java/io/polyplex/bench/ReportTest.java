package io.polyplex.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ratios the README publishes are computed from the right pairs of numbers. */
class ReportTest {

    private static Measurement m(String workload, String contender, String param, double score, String unit,
                                 double bytes) {
        return new Measurement(workload, contender, param, score, 1, unit, bytes, "");
    }

    private static final Report.Machine MACHINE =
            new Report.Machine("test CPU", 2, "Linux", "17", Instant.parse("2026-11-22T00:00:00Z"), false, true);

    private static List<Measurement> sample(double dispatchEpoll, double e2ePolyplex) {
        return List.of(
                m("dispatch", "polyplex-epoll", "registered=1000,ready=100", dispatchEpoll, "ns/event", 0.001),
                m("dispatch", "polyplex-select", "registered=900,ready=100", 500, "ns/event", 0.002),
                m("dispatch", "java.nio", "registered=1000,ready=100", 120, "ns/event", 14),
                m("dispatch", "C epoll", "registered=1000,ready=100", 100, "ns/event", Double.NaN),
                m("dispatch", "C select", "registered=900,ready=100", 450, "ns/event", Double.NaN),
                m("scale", "polyplex-epoll", "registered=10", 400, "ns/poll", Double.NaN),
                m("scale", "polyplex-epoll", "registered=10000", 460, "ns/poll", Double.NaN),
                Measurement.refused("scale", "polyplex-select", "registered=10000", "ns/poll", "refused: EINVAL"),
                m("wakeup", "polyplex-epoll", "round-trip", 10_000, "ns/roundtrip", Double.NaN),
                m("wakeup", "C epoll+pipe", "round-trip", 9_500, "ns/roundtrip", Double.NaN),
                m("wakeup", "java.nio", "round-trip", 11_000, "ns/roundtrip", Double.NaN),
                m("churn", "polyplex-epoll", "sockets=1000", 300, "ns/op", 0.0),
                m("churn", "polyplex-select", "sockets=900", 30, "ns/op", 0.2),
                m("e2e", "polyplex-epoll demo", "wrk", e2ePolyplex, "req/s", Double.NaN),
                m("e2e", "java.nio reference", "wrk", 100_000, "req/s", Double.NaN));
    }

    /** The Selector workload: Polyplex's selector, the JDK's, at the three sizes. */
    private static List<Measurement> selectorSample(double oursAt1000, double bytesPerEvent) {
        return List.of(
                m("selector", "polyplex-selector-epoll", "registered=10,ready=10", 100, "ns/event", 0.0),
                m("selector", "polyplex-selector-epoll", "registered=1000,ready=10", oursAt1000, "ns/event", bytesPerEvent),
                m("selector", "polyplex-selector-epoll", "registered=10000,ready=10", 110, "ns/event", 0.0),
                m("selector", "jnr-enxio", "registered=10000,ready=10", 9000, "ns/event", 130),
                m("selector", "java.nio", "registered=10,ready=10", 100, "ns/event", 3.2),
                m("selector", "java.nio", "registered=1000,ready=10", 100, "ns/event", 3.2),
                m("selector", "java.nio", "registered=10000,ready=10", 100, "ns/event", 3.2));
    }

    @Test
    void selectorTargetsTakeTheWorstSizeAndBytesPerSelection() {
        Report met = new Report(MACHINE, selectorSample(105, 0.001));
        assertEquals(1.1, target(met, "java.nio Selector per event").value(), 1e-9, "110 / 100 at 10,000 is the worst");
        assertTrue(target(met, "java.nio Selector per event").how().contains("registered=10000"));
        assertTrue(target(met, "java.nio Selector per event").met());
        assertEquals(1.1, target(met, "java.nio Selector: polyplex-selector-epoll at 10,000 vs at 10").value(), 1e-9);
        assertTrue(target(met, "java.nio Selector: polyplex-selector-epoll at 10,000").met());
        assertEquals(0.01, target(met, "Allocation per select").value(), 1e-9, "0.001 B/event x 10 events");
        assertTrue(target(met, "Allocation per select").met());
        assertTrue(met.targetsTable().contains("0.010 B/select"), met.targetsTable());
        assertTrue(met.resultsTable().contains("| selector | jnr-enxio | registered=10000,ready=10 | 9,000 ± 1.00 | ns/event"
                + " | 130.000 |  | 90.00x |"), met.resultsTable());

        Report missed = new Report(MACHINE, selectorSample(130, 3.2));
        assertEquals(1.3, target(missed, "java.nio Selector per event").value(), 1e-9);
        assertFalse(target(missed, "java.nio Selector per event").met());
        assertFalse(target(missed, "Allocation per select").met(), "32 B per selection");
    }

    private static Report.Target target(Report r, String prefix) {
        return r.targets().stream().filter(t -> t.name().startsWith(prefix)).findFirst().orElseThrow();
    }

    @Test
    void ratiosPairTheSameSetupAndJudgeTheGoals() {
        Report r = new Report(MACHINE, sample(104, 101_000));
        assertEquals(1.04, target(r, "Dispatch per event vs C").value(), 1e-9);
        assertTrue(target(r, "Dispatch per event vs C").met());
        assertTrue(target(r, "Dispatch per event vs java.nio").met());
        assertEquals(1.15, target(r, "Scale").value(), 1e-9);
        assertTrue(target(r, "Scale").met());
        assertTrue(target(r, "Wakeup round trip vs C").met());
        assertTrue(target(r, "End to end").met());
        assertTrue(target(r, "Allocation per poll").met());
        assertFalse(target(r, "Allocation per subscribe").met(), "0.2 B/op for select is not zero");
    }

    @Test
    void aMissedTargetIsReportedAsMissed() {
        Report r = new Report(MACHINE, sample(130, 90_000));
        assertEquals(1.3, target(r, "Dispatch per event vs C").value(), 1e-9);
        assertFalse(target(r, "Dispatch per event vs C").met());
        assertFalse(target(r, "Dispatch per event vs java.nio").met(), "130 is not below 120");
        assertFalse(target(r, "End to end").met());
        assertTrue(r.targetsTable().contains("**no**"));
    }

    @Test
    void theResultsTableComparesEachLineWithItsOwnFloorAndShowsRefusals() {
        String table = new Report(MACHINE, sample(104, 101_000)).resultsTable();
        assertTrue(table.contains("| dispatch | polyplex-select | registered=900,ready=100 | 500.0 ± 1.00 | ns/event | 0.002 | 1.11x |"),
                table);
        assertTrue(table.contains("refused: EINVAL"), table);
    }

    @Test
    void writesSummaryJsonAndChart(@TempDir Path dir) throws IOException {
        new Report(MACHINE, sample(104, 101_000)).write(dir);
        String json = Files.readString(dir.resolve("results.json"));
        assertTrue(json.contains("\"contender\": \"polyplex-epoll\""), json);
        assertTrue(json.contains("\"score\": null"), "a refusal has no score");
        String svg = Files.readString(dir.resolve("chart.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("1.04x"), svg);
        assertTrue(Files.readString(dir.resolve("summary.md")).contains("## All results"));
    }

    @Test
    void aFloorTakenBeforeAndAfterIsAveragedAndItsDriftCountsAsError() {
        List<Measurement> before = List.of(m("wakeup", "C epoll+pipe", "round-trip", 4000, "ns/roundtrip", Double.NaN));
        List<Measurement> after = List.of(m("wakeup", "C epoll+pipe", "round-trip", 5000, "ns/roundtrip", Double.NaN));
        Measurement both = Suite.bracket(before, after).get(0);
        assertEquals(4500, both.score(), 1e-9);
        assertEquals(500, both.error(), 1e-9);
        assertTrue(both.note().contains("4,000 / 5,000"), both.note());
    }

    @Test
    void resultsJsonReadsBackToTheSameTables(@TempDir Path dir) throws IOException {
        Report original = new Report(MACHINE, sample(104, 101_000));
        original.write(dir);
        Report again = Report.read(dir.resolve("results.json"));
        assertEquals(original.targetsTable(), again.targetsTable());
        assertEquals(original.resultsTable(), again.resultsTable());
    }

    @Test
    void aSmokeRunSaysSoAndJudgesNoTarget(@TempDir Path dir) throws IOException {
        Report.Machine smoke = new Report.Machine("test CPU", 2, "Linux", "17", Instant.parse("2026-11-22T00:00:00Z"),
                true, true);
        Report r = new Report(smoke, sample(130, 90_000)); // numbers that would miss targets
        String table = r.targetsTable();
        assertTrue(table.contains("SMOKE RUN") && table.contains("mean nothing"), table);
        assertFalse(table.contains("**no**") || table.contains("| yes |"), table);
        assertEquals(r.targets().size(), table.split(java.util.regex.Pattern.quote(Report.NOT_JUDGED), -1).length - 1,
                table);
        r.write(dir);
        String json = Files.readString(dir.resolve("results.json"));
        assertTrue(json.contains("\"met\": null") && !json.contains("\"met\": false"), json);
        assertTrue(Files.readString(dir.resolve("chart.svg")).contains("no target is judged"));
    }

    @Test
    void aRunOfTheEndToEndWorkloadAloneJudgesOnlyItsOwnTarget(@TempDir Path dir) throws IOException {
        Report r = new Report(MACHINE, List.of(
                m("e2e", "polyplex-epoll demo", "wrk", 101_000, "req/s", Double.NaN),
                m("e2e", "java.nio reference", "wrk", 100_000, "req/s", Double.NaN),
                m("e2e", "netty-epoll hello-world", "wrk", 120_000, "req/s", Double.NaN)));
        assertTrue(target(r, "End to end").met());
        String table = r.targetsTable();
        assertFalse(table.contains("**no**"), "a target not measured is not a target missed: " + table);
        assertTrue(table.contains("| not measured | n/a | <= 1.05x | not measured |"), table);
        assertTrue(r.resultsTable().contains("| netty-epoll hello-world | wrk | 120,000 ± 1.00 | req/s |  |  | 1.20x |"),
                r.resultsTable());
        r.write(dir);
        String json = Files.readString(dir.resolve("results.json"));
        assertTrue(json.contains("\"measured\": \"not measured\", \"value\": null, \"goal\": \"<= 1.05x\", \"met\": null"),
                json);
        assertTrue(json.contains("\"met\": true"), json);
    }

    @Test
    void forksGetNativeAccessOnlyFromTheirOwnOptions() {
        assertEquals(List.of("-Xmx1g", "-Dx=y"), Suite.forkJvmArgs(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx1g",
                "--enable-native-access", "ALL-UNNAMED", "-Dx=y")));
    }

    @Test
    void floorNamesReadLikeTheTable() {
        assertEquals("C epoll", Suite.floorName("c-epoll"));
        assertEquals("C epoll+eventfd", Suite.floorName("c-epoll-eventfd"));
    }
}
