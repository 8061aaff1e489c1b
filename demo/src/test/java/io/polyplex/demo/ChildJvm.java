package io.polyplex.demo;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A demo program's main run in a JVM of its own, on this test's class path, as a user runs it. */
final class ChildJvm {

    /** How a finished child ended. */
    record Result(int exitCode, String stdout, String stderr) {}

    private ChildJvm() {
    }

    static ProcessBuilder builder(Class<?> main, String... args) {
        return builder(List.of(), main, args);
    }

    /** As {@link #builder(Class, String...)}, with {@code jvmOptions} (system properties, ...) too. */
    static ProcessBuilder builder(List<String> jvmOptions, Class<?> main, String... args) {
        String javaBin = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> command = new ArrayList<>(List.of(javaBin, "--enable-native-access=ALL-UNNAMED",
                "-XX:TieredStopAtLevel=1"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        // Each of these makes the JVM print a line of its own on stderr ("Picked up ...").
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        return pb;
    }

    /** Runs {@code main} with {@code args} to its end (at most two minutes) and returns what it said. */
    static Result run(Class<?> main, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile("polyplex-child", ".out");
        Path err = Files.createTempFile("polyplex-child", ".err");
        try {
            Process p = builder(main, args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(main.getSimpleName() + " " + String.join(" ", args) + " did not end within 120 s");
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /**
     * Waits (at most 60 s) until the child has written a whole line containing {@code marker} to
     * {@code log}, and returns that line; fails if the child exits first.
     */
    static String awaitLine(Process child, Path log, String marker) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String text = Files.readString(log);
            // Whole lines only: the child may be in the middle of writing the last one.
            for (String line : text.substring(0, text.lastIndexOf('\n') + 1).split("\n")) {
                if (line.contains(marker)) {
                    return line;
                }
            }
            if (!child.isAlive()) {
                throw new AssertionError("the child exited (" + child.exitValue() + ") without printing \"" + marker
                        + "\": " + Files.readString(log));
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no \"" + marker + "\" within 60 s: " + Files.readString(log));
    }
}
