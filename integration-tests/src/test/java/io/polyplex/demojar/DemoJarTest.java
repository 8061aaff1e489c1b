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

    /**
     * The README's sample session, replayed: the demo started as shown (on a free port instead of
     * 8080), each {@code curl} made as curl makes it (a connection of its own, closed after the
     * answer), Ctrl-C as SIGTERM; what the demo prints and answers must be the README's lines, with
     * only the port and the backend's name put in. {@code open=} may also read 2: the server may see
     * the request of one connection before the close of the previous one.
     */
    @Test
    void theReadmesSampleSessionIsWhatTheDemoPrints(@TempDir Path dir) throws Exception {
        String readme = Files.readString(JAR.getParent().getParent().getParent().resolve("README.md"));
        Matcher block = Pattern.compile("```text\\n(\\$ java -jar demo/target/polyplex-demo\\.jar\\n.*?)```", Pattern.DOTALL)
                .matcher(readme);
        assertTrue(block.find(), "the README's sample session");
        java.util.List<String> lines = new java.util.ArrayList<>(block.group(1).lines().toList());
        assertEquals("$ java -jar demo/target/polyplex-demo.jar", lines.remove(0));

        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process child = new ProcessBuilder(java, "-jar", JAR.toString(), "--port", "0")
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            Pattern banner = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/ \\(backend (\\w+)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Matcher m = banner.matcher(read(out));
            while (!m.find()) {
                assertTrue(child.isAlive(), () -> "the demo exited: " + read(err));
                assertTrue(System.nanoTime() < deadline, () -> "no banner in 60 s: " + read(out) + read(err));
                Thread.sleep(20);
                m = banner.matcher(read(out));
            }
            String port = m.group(1);
            String backend = m.group(2);
            java.util.function.UnaryOperator<String> asInReadme = t -> t.replace(":" + port + "/", ":8080/")
                    .replace("(backend " + backend + ")", "(backend epoll)").replace("(" + backend + ")", "(epoll)");
            assertEquals(lines.remove(0), asInReadme.apply(read(out).lines().findFirst().orElse("")), "the banner");
            while (!lines.isEmpty() && lines.get(0).startsWith("$ curl ")) {
                String url = lines.remove(0).substring("$ curl ".length()).split("\\s+")[0];
                assertTrue(url.startsWith("http://127.0.0.1:8080/"), url);
                String answer = get(Integer.parseInt(port), url.substring("http://127.0.0.1:8080".length()));
                StringBuilder expected = new StringBuilder();
                while (!lines.isEmpty() && !lines.get(0).startsWith("$ ") && !lines.get(0).equals("^C")) {
                    expected.append(lines.remove(0)).append('\n');
                }
                String actual = asInReadme.apply(answer);
                if (url.endsWith("/stats")) {
                    actual = actual.replace(" open=2 ", " open=1 ");
                }
                assertEquals(expected.toString(), actual, "the answer to curl " + url);
            }
            assertEquals("^C", lines.remove(0));
            child.destroy();
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "no exit after SIGTERM");
            assertEquals(0, child.exitValue(), () -> read(err));
            java.util.List<String> printed = read(out).lines().toList();
            assertEquals(lines, printed.subList(1, printed.size()), "what the demo prints when stopped");
        } finally {
            child.destroyForcibly();
        }
    }

    /**
     * Run as the README says ({@code java -jar demo/target/polyplex-demo.jar}, from the project's
     * directory), a mistake is one line naming that jar, not the class inside it, and the usage
     * names the command.
     */
    @Test
    void errorsAndUsageNameTheJarAsItWasRun() throws Exception {
        Path root = JAR.getParent().getParent().getParent();
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process p = new ProcessBuilder(java, "-jar", "demo/target/polyplex-demo.jar", "--port", "99999")
                .directory(root.toFile()).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), err);
        assertEquals("demo/target/polyplex-demo.jar: --port: 99999 is out of range (0 to 65535); --help lists the options\n", err);
        p = new ProcessBuilder(java, "-jar", "demo/target/polyplex-demo.jar", "--help").directory(root.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("usage: java -jar demo/target/polyplex-demo.jar [options]", out.lines().findFirst().orElse(""));
    }

    /**
     * The README's EchoServer command, run as written from the project's directory (on a free port):
     * it serves, prints nothing on stderr (on JDK 22+ that needs the grant the command gives), and
     * SIGTERM (Ctrl-C) stops it with exit status 0 after closing the connection.
     */
    @Test
    void theReadmesEchoServerCommandRunsWithoutAWarningAndStopsWithStatusZero(@TempDir Path dir) throws Exception {
        Path root = JAR.getParent().getParent().getParent();
        String readme = Files.readString(root.resolve("README.md"));
        Matcher block = Pattern.compile("```sh\\n(java [^\\n]*io\\.polyplex\\.demo\\.EchoServer)\\n```").matcher(readme);
        assertTrue(block.find(), "the README's EchoServer command");
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(block.group(1).split(" ")));
        command.set(0, System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        command.addAll(java.util.List.of("--port", "0"));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        Process child = pb.start();
        try {
            Pattern banner = Pattern.compile("echo server on 127\\.0\\.0\\.1:(\\d+) \\(backend \\w+\\)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Matcher m = banner.matcher(read(out));
            while (!m.find()) {
                assertTrue(child.isAlive(), () -> "the echo server exited: " + read(err));
                assertTrue(System.nanoTime() < deadline, () -> "no banner in 60 s: " + read(out) + read(err));
                Thread.sleep(20);
                m = banner.matcher(read(out));
            }
            try (Socket s = new Socket("127.0.0.1", Integer.parseInt(m.group(1)))) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals("ping\n", new String(s.getInputStream().readNBytes(5), StandardCharsets.US_ASCII));
                child.destroy();
                assertTrue(child.waitFor(60, TimeUnit.SECONDS), "no exit after SIGTERM");
                assertEquals(-1, s.getInputStream().read(), "the connection is closed at shutdown");
            }
            assertEquals(0, child.exitValue(), () -> read(err));
            assertEquals("", read(err), "stderr of the README's EchoServer command");
            assertTrue(read(out).contains("stopped: 1 connections, 0 aborted"), read(out));
        } finally {
            child.destroyForcibly();
        }
    }

    /** The body of {@code GET path} on a connection of its own, as curl sends it (keep-alive, then closed). */
    private static String get(int port, String path) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
                    + "\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            java.io.InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                assertTrue(b >= 0, "the connection closed in the head: " + head);
                head.append((char) b);
            }
            Matcher length = Pattern.compile("(?i)content-length: (\\d+)").matcher(head);
            assertTrue(head.toString().startsWith("HTTP/1.1 200") && length.find(), head.toString());
            return new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.UTF_8);
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
