package io.polyplex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public Javadoc's code examples cannot drift from code that compiles and runs: every {@code
 * <pre>{@code ...}</pre>} block in core's sources is, line for line once the comment's {@code " * "}
 * is taken off, the region of {@link ApiExamples} between {@code // javadoc:begin TYPE} and {@code
 * // javadoc:end TYPE} (shown flush left), where TYPE is the class whose source holds the block.
 * {@code ApiExamplesTest} runs that code. The same rule as the README's, which {@link
 * ReadmeExamplesTest} keeps identical to {@code examples/}.
 */
class JavadocExamplesTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Path CORE = ROOT.resolve("core/src/main/java");
    private static final Path EXAMPLES = ROOT.resolve("examples/src/main/java/io/polyplex/examples/ApiExamples.java");
    private static final Pattern REGION = Pattern.compile(
            "\\n[ \\t]*// javadoc:begin (\\S+)\\n(.*?\\n)[ \\t]*// javadoc:end \\1\\n", Pattern.DOTALL);

    @Test
    void everyCodeExampleInTheJavadocIsCodeTheBuildRuns() throws Exception {
        Map<String, String> regions = new TreeMap<>();
        Matcher m = REGION.matcher(Files.readString(EXAMPLES));
        while (m.find()) {
            assertTrue(regions.put(m.group(1), flushLeft(m.group(2))) == null, "two regions for " + m.group(1));
        }
        assertEquals(List.of("io.polyplex.EventQueue", "io.polyplex.EventQueues", "io.polyplex.ParkingPoller",
                "io.polyplex.net.BlockingAcceptor", "io.polyplex.net.BlockingSockets", "io.polyplex.net.NativeSockets"),
                new ArrayList<>(regions.keySet()), "the types with a code example");

        Map<String, String> blocks = new TreeMap<>();
        List<Path> sources;
        try (Stream<Path> files = Files.walk(CORE)) {
            sources = files.filter(f -> f.toString().endsWith(".java")).sorted().collect(Collectors.toList());
        }
        for (Path source : sources) {
            List<String> found = codeBlocks(source);
            if (found.isEmpty()) {
                continue;
            }
            String type = CORE.relativize(source).toString().replace('/', '.').replaceAll("\\.java$", "");
            assertEquals(1, found.size(), type + " has more than one code example: give each its own region");
            blocks.put(type, found.get(0));
        }
        assertEquals(regions.keySet(), blocks.keySet(), "the types whose Javadoc has a code example");
        for (Map.Entry<String, String> e : regions.entrySet()) {
            assertEquals(e.getValue(), blocks.get(e.getKey()), "the code example in " + e.getKey()
                    + "'s Javadoc differs from its region in ApiExamples.java");
        }
    }

    /** The text of each {@code <pre>{@code ...}</pre>} block of a source's doc comments. */
    static List<String> codeBlocks(Path source) throws IOException {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = null;
        for (String line : Files.readAllLines(source)) {
            if (block == null) {
                if (line.contains("<pre>{@code")) {
                    assertTrue(line.trim().equals("* <pre>{@code"), source + ": the block must start on a line of its own: " + line);
                    block = new StringBuilder();
                }
                continue;
            }
            String trimmed = line.trim();
            if (trimmed.equals("* }</pre>")) {
                blocks.add(block.toString());
                block = null;
            } else if (trimmed.equals("*")) {
                block.append('\n');
            } else {
                assertTrue(line.matches("\\s*\\* .*"), source + ": a code line outside the comment's \" * \": " + line);
                block.append(line.substring(line.indexOf("* ") + 2)).append('\n');
            }
        }
        assertTrue(block == null, source + ": a code example without its }</pre>");
        return blocks;
    }

    /** The lines without the indentation they share. */
    static String flushLeft(String text) {
        String[] lines = text.split("\n", -1);
        int indent = Integer.MAX_VALUE;
        for (String l : lines) {
            if (!l.isBlank()) {
                indent = Math.min(indent, l.length() - l.stripLeading().length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < lines.length - 1; i++) {
            out.append(lines[i].isBlank() ? "" : lines[i].substring(indent)).append('\n');
        }
        return out.toString();
    }
}
