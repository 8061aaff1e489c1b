package io.polyplex.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The example programs' command lines, each run in a JVM of its own: a mistake ends with one line on
 * stderr (no stack trace) and exit status 2 for a usage mistake, 1 for an address that cannot be
 * listened on; {@code --help} lists every option with its default and exits 0.
 */
@Timeout(value = 600, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DemoCommandLineTest {

    /** One line on stderr, naming the program, with no trace of an exception; nothing on stdout. */
    private static void assertOneLine(ChildJvm.Result r, Class<?> main, String... mustContain) {
        String err = r.stderr().strip();
        assertEquals(1, err.lines().count(), "stderr is not one line: " + r.stderr());
        assertTrue(err.startsWith(main.getName() + ": "), err);   // run as java -cp ... CLASS
        assertFalse(err.contains("Exception") || r.stderr().contains("\tat "), err);
        for (String s : mustContain) {
            assertTrue(err.contains(s), "\"" + s + "\" not in: " + err);
        }
        assertEquals("", r.stdout(), "stdout");
    }

    /** A backend that is on the class path but does not run here (kqueue on Linux), if any. */
    private static String backendNotHere() {
        return EventQueues.backends().stream().filter(b -> !b.supported()).map(BackendInfo::name).findFirst().orElse(null);
    }

    static Stream<Arguments> usageMistakes() {
        List<Arguments> cases = new ArrayList<>();
        String notHere = backendNotHere();
        // Both programs share the parser: EchoServer gets the basic cases, HttpServer all of them.
        for (Class<?> main : List.of(HttpServer.class, EchoServer.class)) {
            cases.add(Arguments.of(main, List.of("--port", "abc"), List.of("--port", "\"abc\"")));
            cases.add(Arguments.of(main, List.of("--port"), List.of("--port needs a value")));
            cases.add(Arguments.of(main, List.of("--frobnicate"), List.of("unknown option --frobnicate", "--help")));
            if (notHere != null) {
                cases.add(Arguments.of(main, List.of("--backend", notHere),
                        List.of("\"" + notHere + "\" does not run", "run here: ")));
            }
        }
        cases.add(Arguments.of(HttpServer.class, List.of("--port", "70000"), List.of("--port", "out of range")));
        cases.add(Arguments.of(HttpServer.class, List.of("--backend"), List.of("--backend needs a value")));
        cases.add(Arguments.of(HttpServer.class, List.of("8080"), List.of("unexpected argument \"8080\"")));
        cases.add(Arguments.of(HttpServer.class, List.of("--backend", "iocp"),
                List.of("unknown backend \"iocp\"", "on the class path")));
        for (BackendInfo b : EventQueues.backends()) {
            if (b.supported() && !b.capabilities().contains(io.polyplex.Capability.EDGE_TRIGGERED)) {
                cases.add(Arguments.of(HttpServer.class, List.of("--edge", "--backend", b.name()),
                        List.of("backend " + b.name() + " has no edge-triggered mode")));
            }
        }
        cases.add(Arguments.of(HttpServer.class, List.of("--accept-threads", "-1"), List.of("--accept-threads", "out of range")));
        cases.add(Arguments.of(HttpServer.class, List.of("--drain-ms", "soon"), List.of("--drain-ms", "\"soon\"")));
        cases.add(Arguments.of(HttpServer.class, List.of("--edge=yes"), List.of("--edge takes no value")));
        cases.add(Arguments.of(HttpServer.class, List.of("--unix", "/tmp/x.sock", "--port", "1"),
                List.of("--unix", "cannot be combined")));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("usageMistakes")
    void aUsageMistakeIsOneLineAndExitStatusTwo(Class<?> main, List<String> args, List<String> said) throws Exception {
        ChildJvm.Result r = ChildJvm.run(main, args.toArray(String[]::new));
        assertEquals(2, r.exitCode(), r.toString());
        assertOneLine(r, main, said.toArray(String[]::new));
    }

    /** A port somebody else listens on: one line naming the address and the errno, exit status 1. */
    @ParameterizedTest
    @MethodSource("mains")
    void aPortInUseIsOneLineNamingItAndExitStatusOne(Class<?> main) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            String port = Integer.toString(taken.getLocalPort());
            ChildJvm.Result r = ChildJvm.run(main, "--port", port);
            assertEquals(1, r.exitCode(), r.toString());
            assertOneLine(r, main, "cannot listen", "127.0.0.1:" + port, "EADDRINUSE", "Address already in use");
        }
    }

    static Stream<Class<?>> mains() {
        return Stream.of(HttpServer.class, EchoServer.class);
    }

    /** --help: every option the program takes, each with its default, on stdout; exit status 0. */
    @ParameterizedTest
    @MethodSource("mains")
    void helpListsEveryOptionWithItsDefault(Class<?> main) throws Exception {
        ChildJvm.Result r = ChildJvm.run(main, "--help");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("", r.stderr());
        List<String> expected = main == HttpServer.class
                ? List.of("--host", "--port", "--unix", "--backend", "--accept-threads", "--edge", "--virtual-threads",
                        "--max-connections", "--idle-timeout-ms", "--drain-ms")
                : List.of("--host", "--port", "--backend");
        List<String> lines = r.stdout().lines().toList();
        assertTrue(lines.get(0).startsWith("usage: "), r.stdout());
        for (String option : expected) {
            String line = lines.stream().filter(l -> l.strip().startsWith(option + " ")).findFirst().orElse(null);
            assertTrue(line != null && line.contains("(default: "), option + " has no line with its default: " + r.stdout());
        }
        assertTrue(lines.stream().anyMatch(l -> l.strip().startsWith("--help")), r.stdout());
        assertTrue(r.stdout().contains("(default: 127.0.0.1)"), r.stdout());
        assertTrue(r.stdout().contains(main == HttpServer.class ? "(default: 8080)" : "(default: 7007)"), r.stdout());
        // -h is the same
        assertEquals(r.stdout(), ChildJvm.run(main, "-h").stdout());
    }

    /**
     * Error lines and the usage name the program as the user started it: the jar's path (java -jar),
     * the class (java -cp) or the module and class (java -m), from the launcher's sun.java.command;
     * never a bare "HttpServer" for a jar the user ran. DemoJarTest runs the jar itself.
     */
    @Test
    void theProgramIsNamedAsItWasStarted() {
        assertEquals(List.of("demo/target/polyplex-demo.jar", "java -jar demo/target/polyplex-demo.jar"),
                List.of(Cli.invokedAs(HttpServer.class, "demo/target/polyplex-demo.jar --port 99999")));
        assertEquals(List.of("io.polyplex.demo.EchoServer", "java -cp ... io.polyplex.demo.EchoServer"),
                List.of(Cli.invokedAs(EchoServer.class, "io.polyplex.demo.EchoServer --port 1")));
        assertEquals(List.of("io.polyplex.demo/io.polyplex.demo.HttpServer", "java -p ... -m io.polyplex.demo/io.polyplex.demo.HttpServer"),
                List.of(Cli.invokedAs(HttpServer.class, "io.polyplex.demo/io.polyplex.demo.HttpServer --port 0")));
        assertEquals(List.of("io.polyplex.demo.HttpServer", "java -cp ... io.polyplex.demo.HttpServer"),
                List.of(Cli.invokedAs(HttpServer.class, null)));
    }

    /**
     * --unix errors name the errno as every other error does, and a path too long for sun_path is
     * refused before bind with the limit (bind alone says EINVAL on Linux): exit status 1.
     */
    @Test
    void unixSocketErrorsNameTheErrnoAndThePathLengthLimit(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("no-such-dir/demo.sock");
        ChildJvm.Result r = ChildJvm.run(HttpServer.class, "--unix", missing.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertOneLine(r, HttpServer.class, "cannot listen: bind(" + missing + "): ENOENT (No such file or directory)");

        Path tooLong = dir.resolve("x".repeat(120) + ".sock");
        int bytes = tooLong.toString().length();
        r = ChildJvm.run(HttpServer.class, "--unix", tooLong.toString());
        assertEquals(1, r.exitCode(), r.toString());
        int max = UnixListener.sunPathSize(System.getProperty("os.name")) - 1;
        assertOneLine(r, HttpServer.class, "cannot listen: " + tooLong + " is " + bytes + " bytes long",
                "holds at most " + max + " bytes");
        assertFalse(Files.exists(tooLong));
    }

    /** sun_path's size per OS, from each system's sys/un.h (108 on Linux, 104 on macOS and the BSDs). */
    @Test
    void theLimitIsThatOfTheOsThePathIsBoundOn() throws Exception {
        assertEquals(108, UnixListener.sunPathSize("Linux"));
        for (String os : List.of("Mac OS X", "FreeBSD", "OpenBSD", "NetBSD", "DragonFly")) {
            assertEquals(104, UnixListener.sunPathSize(os), os);
        }
        Path p104 = Path.of("/" + "p".repeat(103));   // 104 bytes: too long for macOS, fine for Linux
        UnixListener.checkLength(p104, "Linux");
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> UnixListener.checkLength(p104, "Mac OS X"));
        assertTrue(e.getMessage().contains("is 104 bytes long; an AF_UNIX socket path holds at most 103 bytes on Mac OS X"),
                e.getMessage());
        UnixListener.checkLength(Path.of("/" + "p".repeat(102)), "Mac OS X");
    }

    /** jnr-unixsocket's strerror text gets the errno's name, only when that errno is the one meant. */
    @Test
    void anErrnoIsNamedOnlyWhenItsTextIsTheMessage() {
        int enoent = jnr.constants.platform.Errno.ENOENT.intValue();
        assertEquals("ENOENT (No such file or directory)", UnixListener.withErrnoName("No such file or directory", enoent));
        assertEquals("Permission denied", UnixListener.withErrnoName("Permission denied", enoent));
    }

    /** --unix at a path that is a regular file: refused in one line, exit status 1, the file intact. */
    @Test
    void aRegularFileAtTheUnixPathIsRefusedAndLeftIntact(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("notes.txt");
        Files.writeString(file, "keep me\n", StandardCharsets.UTF_8);
        ChildJvm.Result r = ChildJvm.run(HttpServer.class, "--unix", file.toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertOneLine(r, HttpServer.class, file.toString(), "is not a socket");
        assertEquals("keep me\n", Files.readString(file, StandardCharsets.UTF_8));
    }

    /**
     * Java 17 is the baseline: the demo runs there, and --virtual-threads says in one line that it
     * needs JDK 21 (exit status 2) instead of failing on a missing method. Runs before JDK 21; from
     * 21 on, the mode itself is tested (HttpServerTest).
     */
    @Test
    @EnabledForJreRange(max = JRE.JAVA_20, disabledReason = "this JDK has virtual threads; HttpServerTest runs the mode")
    void virtualThreadsBeforeJdk21IsOneLineAndExitStatusTwo() throws Exception {
        ChildJvm.Result r = ChildJvm.run(HttpServer.class, "--virtual-threads", "--port", "0");
        assertEquals(2, r.exitCode(), r.toString());
        assertOneLine(r, HttpServer.class, "--virtual-threads needs JDK 21 or newer (this is " + Runtime.version() + ")");
    }

    /**
     * --virtual-threads with --edge is refused in one line (edge is the event loop's trigger mode);
     * with a backend that does not run here, as without it.
     */
    @Test
    @EnabledForJreRange(min = JRE.JAVA_21, disabledReason = "--virtual-threads needs JDK 21; before, virtualThreadsBeforeJdk21IsOneLineAndExitStatusTwo runs")
    void virtualThreadsRefuseEdgeAndBackendsThatDoNotRunHere() throws Exception {
        ChildJvm.Result r = ChildJvm.run(HttpServer.class, "--virtual-threads", "--edge", "--port", "0");
        assertEquals(2, r.exitCode(), r.toString());
        assertOneLine(r, HttpServer.class, "--edge is the event loop's trigger mode", "--virtual-threads");
        String notHere = backendNotHere();
        if (notHere != null) {
            r = ChildJvm.run(HttpServer.class, "--virtual-threads", "--backend", notHere, "--port", "0");
            assertEquals(2, r.exitCode(), r.toString());
            assertOneLine(r, HttpServer.class, "\"" + notHere + "\" does not run", "run here: ");
        }
    }
}
