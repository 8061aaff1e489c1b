package io.polyplex.modules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Polyplex on the module path, as a modular application uses it: JVMs launched with
 * {@code java -p ... -m ...} over the built modules (core, every backend, the demo) and jnr's
 * automatic modules. The demo module requires only {@code io.polyplex}; the backends are resolved by
 * service binding ({@code uses}/{@code provides}) and found by ServiceLoader across modules, and
 * jnr-ffi generates the bindings of core and of each backend into its own class loaders, which needs
 * the opened packages. Only the narrowest native-access grant is given
 * ({@code --enable-native-access=org.jnrproject.jffi}), and the test fails if the JVM still warns.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ModulePathTest {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/ \\(backend (\\w+)");

    /** The test's class path minus test code and test libraries: the modules a user would ship. */
    static String modulePath() {
        List<String> keep = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String e = entry.replace('\\', '/');
            // In a reactor build the modules are their target/classes or jars; built alone, the
            // jars installed in the local repository.
            boolean polyplex = (e.matches(".*/(core|backend-\\w+|selector|demo)/target/(classes|polyplex-[\\w.-]+\\.jar)")
                    || e.matches(".*/io/polyplex/polyplex-(core|backend-\\w+|selector|demo)/[^/]+/polyplex-[\\w.-]+\\.jar"))
                    && !e.endsWith("-tests.jar");
            boolean library = e.contains("/com/github/jnr/") || e.contains("/org/ow2/asm/asm/");
            if (polyplex || library) {
                keep.add(entry);
            }
        }
        return String.join(File.pathSeparator, keep);
    }

    static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    static List<String> supportedBackends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name)
                .collect(Collectors.toList());
    }

    @Test
    void theModulePathHoldsEveryPolyplexModuleAndNoTestCode() {
        String mp = modulePath();
        for (String module : List.of("core", "backend-epoll", "backend-kqueue", "backend-poll", "backend-select", "selector",
                "demo")) {
            String artifact = module.equals("core") ? "polyplex-core" : "polyplex-" + module;
            assertTrue(Arrays.stream(mp.split(File.pathSeparator)).map(e -> e.replace('\\', '/'))
                    .anyMatch(e -> e.contains("/" + module + "/target/") || e.contains("/" + artifact + "/")),
                    module + " is missing from " + mp);
        }
        assertFalse(mp.contains("junit") || mp.contains("test-classes") || mp.contains("-tests.jar"), mp);
    }

    @ParameterizedTest
    @MethodSource("supportedBackends")
    void theDemoServesARequestAsANamedModule(String backend, @TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process child = new ProcessBuilder(javaBin(), "--enable-native-access=org.jnrproject.jffi",
                "-p", modulePath(), "-m", "io.polyplex.demo/io.polyplex.demo.HttpServer",
                "--port", "0", "--backend", backend)
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            Matcher banner = awaitBanner(child, out, err);
            assertEquals(backend, banner.group(2));
            int port = Integer.parseInt(banner.group(1));
            try (Socket s = new Socket("127.0.0.1", port)) {
                OutputStream o = s.getOutputStream();
                o.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                o.flush();
                String response = new String(readAll(s.getInputStream()), StandardCharsets.US_ASCII);
                assertTrue(response.startsWith("HTTP/1.1 200"), response);
                assertTrue(response.contains("hello from polyplex (" + backend + ")"), response);
            }
            child.destroy(); // SIGTERM: drains and exits 0
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the server did not stop after SIGTERM");
            assertEquals(0, child.exitValue(), () -> "stderr: " + read(err));
            String stderr = read(err);
            assertFalse(stderr.contains("WARNING"), "the narrowest native-access grant left a warning: " + stderr);
            assertTrue(read(out).contains("stopped: "), read(out));
        } finally {
            child.destroyForcibly();
        }
    }

    /** {@code --unix} on the module path: jnr-unixsocket, an automatic module, read by the demo. */
    @Test
    void theDemoServesOverAUnixSocketAsANamedModule(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("demo.sock");
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process child = new ProcessBuilder(javaBin(), "--enable-native-access=org.jnrproject.jffi",
                "-p", modulePath(), "-m", "io.polyplex.demo/io.polyplex.demo.HttpServer", "--unix", socket.toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!read(out).contains("listening on")) {
                assertTrue(child.isAlive(), () -> "the demo exited: " + read(err));
                assertTrue(System.nanoTime() < deadline, () -> "no banner in 60 s: " + read(out) + read(err));
                Thread.sleep(20);
            }
            try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
                ch.write(java.nio.ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                String response = new String(readAll(java.nio.channels.Channels.newInputStream(ch)), StandardCharsets.US_ASCII);
                assertTrue(response.startsWith("HTTP/1.1 200") && response.contains("hello from polyplex"), response);
            }
            child.destroy();
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the server did not stop after SIGTERM");
            assertEquals(0, child.exitValue(), () -> "stderr: " + read(err));
            assertEquals("", read(err));
            assertFalse(Files.exists(socket), "the socket file outlived the server");
        } finally {
            child.destroyForcibly();
        }
    }

    /**
     * The encapsulation a module-path user gets: the exported packages compile, and
     * {@code io.polyplex.internal} does not, although it is opened (at run time only) for jnr-ffi.
     */
    @Test
    void aUserModuleCompilesAgainstTheApiButNotAgainstInternals(@TempDir Path dir) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "this test needs a JDK");
        Path ok = writeModule(dir.resolve("ok"), "import io.polyplex.EventQueue; import io.polyplex.spi.BackendProvider;"
                + " import io.polyplex.net.NativeSockets;");
        ByteArrayOutputStream okErr = new ByteArrayOutputStream();
        int okRc = javac.run(null, null, okErr, "-p", modulePath(), "-d", dir.resolve("ok-out").toString(),
                ok.resolve("module-info.java").toString(), ok.resolve("user/User.java").toString());
        assertEquals(0, okRc, okErr.toString(StandardCharsets.UTF_8));

        Path bad = writeModule(dir.resolve("bad"), "import io.polyplex.internal.SelfPipe;");
        ByteArrayOutputStream badErr = new ByteArrayOutputStream();
        int badRc = javac.run(null, null, badErr, "-p", modulePath(), "-d", dir.resolve("bad-out").toString(),
                bad.resolve("module-info.java").toString(), bad.resolve("user/User.java").toString());
        String message = badErr.toString(StandardCharsets.UTF_8);
        assertTrue(badRc != 0 && message.contains("package io.polyplex.internal is not visible"), message);
    }

    /**
     * With core alone on the module path, the refusal names the module path and the backend
     * modules to add, not the class path (which a modular application does not use).
     */
    @Test
    void withNoBackendModuleTheErrorNamesTheModulePath(@TempDir Path dir) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "this test needs a JDK");
        String coreOnly = Arrays.stream(modulePath().split(File.pathSeparator))
                .filter(e -> !e.replace('\\', '/').matches(".*(backend-\\w+/target/.*|polyplex-backend-[\\w.-]+\\.jar)"))
                .collect(Collectors.joining(File.pathSeparator));
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("user"));
        Files.writeString(src.resolve("module-info.java"), "module user { requires io.polyplex; }\n");
        Files.writeString(src.resolve("user/Main.java"), "package user;\n"
                + "public class Main { public static void main(String[] a) throws Exception {\n"
                + "  try { io.polyplex.EventQueues.open(Integer::intValue); System.out.println(\"opened\"); }\n"
                + "  catch (UnsupportedOperationException e) { System.out.println(e.getMessage()); } } }\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, "-p", coreOnly, "-d", dir.resolve("out").toString(),
                src.resolve("module-info.java").toString(), src.resolve("user/Main.java").toString());
        assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
        Process child = new ProcessBuilder(javaBin(), "--enable-native-access=org.jnrproject.jffi",
                "-p", coreOnly + File.pathSeparator + dir.resolve("out"), "-m", "user/user.Main")
                .redirectErrorStream(true).start();
        String out = new String(readAll(child.getInputStream()), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not end");
        assertTrue(out.contains("no backend module is on the module path") && out.contains("io.polyplex.epoll"), out);
        assertFalse(out.contains("class path"), out);
    }

    /**
     * polyplex-selector as a named module: a user module that requires only {@code
     * io.polyplex.selector} compiles, and runs a selection on the best backend, which service binding
     * brings in without being named.
     */
    @Test
    void aUserModuleSelectsWithThePolyplexSelector(@TempDir Path dir) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "this test needs a JDK");
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("user"));
        Files.writeString(src.resolve("module-info.java"), "module user { requires io.polyplex.selector; }\n");
        Files.writeString(src.resolve("user/Main.java"), String.join("\n",
                "package user;",
                "import io.polyplex.net.NativeSockets;",
                "import io.polyplex.selector.PolyplexSelectorProvider;",
                "import java.nio.channels.SelectionKey;",
                "import java.nio.channels.Selector;",
                "public class Main {",
                "    public static void main(String[] args) throws Exception {",
                "        try (Selector s = PolyplexSelectorProvider.getInstance().openSelector()) {",
                "            var p = NativeSockets.socketPair();",
                "            p[0].configureBlocking(false);",
                "            p[0].register(s, SelectionKey.OP_WRITE);",
                "            System.out.println(\"selected \" + s.select(10_000) + \" on \" + s);",
                "        }",
                "    }",
                "}", ""));
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        Path out = dir.resolve("out");
        int rc = javac.run(null, null, errors, "-p", modulePath(), "-d", out.toString(),
                src.resolve("module-info.java").toString(), src.resolve("user/Main.java").toString());
        assertEquals(0, rc, errors.toString(StandardCharsets.UTF_8));
        Path stdout = dir.resolve("stdout.txt");
        Path stderr = dir.resolve("stderr.txt");
        Process child = new ProcessBuilder(javaBin(), "--enable-native-access=org.jnrproject.jffi",
                "-p", modulePath() + File.pathSeparator + out, "-m", "user/user.Main")
                .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        try {
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the user module did not finish");
            assertEquals(0, child.exitValue(), () -> "stderr: " + read(stderr));
            assertTrue(read(stdout).startsWith("selected 1 on PolyplexSelector[" + supportedBackends().get(0)),
                    () -> read(stdout) + read(stderr));
            assertFalse(read(stderr).contains("WARNING"), () -> read(stderr));
        } finally {
            child.destroyForcibly();
        }
    }

    private static Path writeModule(Path root, String imports) throws IOException {
        Files.createDirectories(root.resolve("user"));
        Files.writeString(root.resolve("module-info.java"), "module user { requires io.polyplex; }\n");
        Files.writeString(root.resolve("user/User.java"), "package user;\n" + imports + "\npublic class User {}\n");
        return root;
    }

    private static Matcher awaitBanner(Process child, Path out, Path err) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(read(out));
            if (m.find()) {
                return m;
            }
            if (!child.isAlive()) {
                throw new AssertionError("the demo exited with " + child.exitValue() + "; stderr: " + read(err));
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no banner within 60 s; stdout: " + read(out) + " stderr: " + read(err));
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        return in.readAllBytes();
    }
}
