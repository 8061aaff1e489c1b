package io.polyplex.demojar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command, as a user runs it: {@code java -jar demo/target/polyplex-demo.jar}, the
 * executable jar the build made, with nothing else on the class path. It must start, answer, and stop
 * on SIGTERM with exit 0 and a silent stderr (its manifest grants native access, so JDK 22+ prints no
 * warning). A dependency left out of the jar (a scope narrowed to test, say) fails here and nowhere
 * else: every other test runs on Maven's class path. Runs after the demo is packaged (this module's
 * tests run in the integration-test phase).
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DemoJarTest {

    private static final Path JAR = Path.of("").toAbsolutePath().getParent().resolve("demo/target/polyplex-demo.jar");

    @Test
    void theExecutableJarServesAndStopsCleanly(@TempDir Path dir) throws Exception {
        assertTrue(Files.exists(JAR), JAR + " is missing: run mvn verify (the jar is made at package)");
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process child = new ProcessBuilder(java, "-jar", JAR.toString(), "--port", "0")
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            Pattern banner = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Matcher m = banner.matcher(read(out));
            while (!m.find()) {
                assertTrue(child.isAlive(), () -> "the demo exited: " + read(err));
                assertTrue(System.nanoTime() < deadline, () -> "no banner in 60 s: " + read(out) + read(err));
                Thread.sleep(20);
                m = banner.matcher(read(out));
            }
            try (Socket s = new Socket("127.0.0.1", Integer.parseInt(m.group(1)))) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertTrue(response.startsWith("HTTP/1.1 200") && response.contains("hello from polyplex"), response);
            }
            child.destroy();
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "no exit after SIGTERM");
            assertEquals(0, child.exitValue(), () -> read(err));
            assertEquals("", read(err), "stderr of the README's first command");
            assertTrue(read(out).contains("stopped: "), read(out));
        } finally {
            child.destroyForcibly();
        }
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
