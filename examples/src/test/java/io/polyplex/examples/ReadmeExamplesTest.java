package io.polyplex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's code cannot drift from code that compiles and runs: every Java or XML block in the
 * README is preceded by {@code <!-- from: PATH -->} and must be, character for character, the
 * file at PATH (for Java, the file without its package line; for XML, written {@code PATH#PART},
 * the region of a pom between {@code <!-- readme:begin PART -->} and {@code <!-- readme:end PART -->}). This module compiles and tests the
 * Java files; the XML comes from a pom the build uses.
 */
class ReadmeExamplesTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern BLOCK = Pattern.compile("<!-- from: ([^\\s#]+)(?:#(\\S+))? -->\\s*\\n```(java|xml)\\n(.*?)```", Pattern.DOTALL);

    @Test
    void everyCodeBlockOfTheReadmeIsAFileTheBuildUses() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        Matcher m = BLOCK.matcher(readme);
        List<String> checked = new ArrayList<>();
        while (m.find()) {
            Path source = ROOT.resolve(m.group(1));
            assertTrue(Files.exists(source), m.group(1) + " named by the README does not exist");
            String expected = m.group(3).equals("java") ? withoutPackageLine(Files.readString(source))
                    : region(Files.readString(source), m.group(1), m.group(2));
            assertEquals(expected, m.group(4), "the README's copy of " + m.group(0).lines().findFirst().orElse("")
                    + " differs from the file");
            checked.add(m.group(2) == null ? m.group(1) : m.group(1) + "#" + m.group(2));
        }
        assertTrue(checked.containsAll(List.of("examples/src/main/java/io/polyplex/examples/EchoLoop.java",
                "examples/src/main/java/io/polyplex/examples/ThreadPerConnectionEcho.java",
                "examples/src/main/java/io/polyplex/examples/SelectorEcho.java",
                "examples/pom.xml#bom", "examples/pom.xml#dependencies")), "checked: " + checked);
        // No unchecked Java block: each one must carry its source.
        long javaBlocks = Pattern.compile("```java\\n").matcher(readme).results().count();
        assertEquals(javaBlocks, checked.stream().filter(p -> p.endsWith(".java")).count(),
                "a ```java block in the README without <!-- from: PATH -->");
        assertFalse(checked.isEmpty());
    }

    /**
     * Every Maven command the README gives for one module builds that module's dependencies from this
     * tree too ({@code -am}): in a fresh clone there is no polyplex-core in the local repository, and
     * where there is one it is not this tree's. With {@code -am}, a {@code -Dtest} filter also reaches
     * the modules built first, so the command must let them run no test.
     */
    @Test
    void everyModuleCommandOfTheReadmeBuildsWhatTheModuleNeeds() throws Exception {
        String[] parts = Files.readString(ROOT.resolve("README.md")).replace('\n', ' ').split("\\./mvnw ");
        int checked = 0;
        for (int i = 1; i < parts.length; i++) {
            int end = parts[i].indexOf('`');   // the end of the inline code or of the block, if before the next
            String command = "./mvnw " + (end < 0 ? parts[i] : parts[i].substring(0, end)).strip();
            if (command.contains(" -pl ")) {
                assertTrue(command.contains(" -am "), "no -am in: " + command);
                if (command.contains("-Dtest=")) {
                    assertTrue(command.contains("-Dsurefire.failIfNoSpecifiedTests=false"), command);
                }
                checked++;
            }
        }
        assertTrue(checked >= 3, "the README's module commands: " + checked);
    }

    private static String withoutPackageLine(String java) {
        return java.replaceFirst("(?s)^package [^;]+;\\n\\n", "");
    }

    private static String region(String xml, String name, String part) {
        int begin = xml.indexOf("<!-- readme:begin " + part + " -->");
        int end = xml.indexOf("<!-- readme:end " + part + " -->");
        assertTrue(begin >= 0 && end > begin, name + " has no readme:begin/readme:end region " + part);
        String inner = xml.substring(xml.indexOf('\n', begin) + 1, xml.lastIndexOf('\n', end) + 1);
        // The region is indented as in the pom; the README shows it flush left.
        String[] lines = inner.split("\n", -1);
        int indent = Integer.MAX_VALUE;
        for (String l : lines) {
            if (!l.isBlank()) {
                indent = Math.min(indent, l.length() - l.stripLeading().length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < lines.length - 1; i++) {
            out.append(lines[i].length() >= indent ? lines[i].substring(indent) : lines[i].strip()).append('\n');
        }
        return out.toString();
    }
}
