package io.polyplex.selector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Keeps the README's jnr-enxio comparison tables identical to the lists {@link
 * EnxioSelectorComparisonTest} asserts, so what the README tells a user is what the build checked.
 */
class ReadmeComparisonTest {

    @Test
    void theReadmeListsExactlyTheRecordedDepartures() throws IOException {
        List<String> readme = Files.readAllLines(Path.of("..", "README.md"));
        assertEquals(EnxioSelectorComparisonTest.CONTRACT_DEPARTURES, table(readme, "<!-- selector-comparison: contract -->"),
                "README's table of jnr-enxio's departures from the Selector contract");
        assertEquals(EnxioSelectorComparisonTest.BEYOND_THE_CONTRACT, table(readme, "<!-- selector-comparison: beyond -->"),
                "README's table of what jnr-enxio does not do beyond the contract");
    }

    /** The rows {@code | `scenario` | text |} of the table after {@code marker}, up to the first blank line. */
    private static Map<String, String> table(List<String> lines, String marker) {
        int at = lines.indexOf(marker);
        assertTrue(at >= 0, "README has no line " + marker);
        Map<String, String> rows = new TreeMap<>();
        for (int i = at + 1; i < lines.size() && !lines.get(i).isBlank(); i++) {
            String line = lines.get(i);
            if (!line.startsWith("| `")) {
                continue; // the header and its rule
            }
            String[] cells = line.split(" \\| ", 2);
            String name = cells[0].substring(3, cells[0].length() - 1);
            String text = cells[1].substring(0, cells[1].length() - 2);
            rows.put(name, text);
        }
        return rows;
    }
}
