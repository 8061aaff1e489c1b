package io.polyplex.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Where a smoke run writes when it is not given {@code --results}: a temporary directory, deleted
 * when the JVM exits, however it exits. The smoke run still writes every file (that it can is part
 * of what it proves), but must not name them as results afterwards.
 */
public final class TemporaryResults {

    private TemporaryResults() {
    }

    /** A new temporary directory, deleted with everything in it at exit. */
    public static Path create(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir), "delete " + dir));
        return dir;
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete the temporary directory " + dir + ": " + e);
        }
    }
}
