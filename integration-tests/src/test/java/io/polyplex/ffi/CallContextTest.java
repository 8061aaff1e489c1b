package io.polyplex.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every variadic C function Polyplex calls, directly or through jnr-enxio, is called through a jffi
 * call context prepared as variadic with its own fixed count, and every fixed-arity one through a
 * fixed context, whatever order the process loads its jnr-ffi bindings in: Polyplex's own, jnr-enxio's,
 * jnr-posix's and jnr-unixsocket's.
 *
 * <p>Why the order matters: jffi's {@code CallContextCache} (1.4.3) keys a context by return type,
 * parameter types, calling convention and errno saving, but not by the fixed-parameter count, while
 * {@code CallContext.c} ({@code newCallContext}) prepares libffi's variadic set-up ({@code
 * ffi_prep_cif_var}) or the fixed one ({@code ffi_prep_cif}) from that count. The first binding of a
 * signature loaded in the process decides for every later one. On Apple arm64 variadic arguments go
 * on the stack, so a variadic function called through a fixed context (or the reverse) reads
 * garbage; x86-64 Linux hides it, so the test reads the contexts instead of calling.
 *
 * <p>One child JVM per order ({@link CallContextProbe}, a Java agent that keeps jnr-ffi's generated
 * classes): each group of bindings is loaded first once, the others after it in turn. Since the
 * first binding of a signature decides, every pair of groups then appears in both relative orders,
 * and every group is first among any set of groups that share a signature.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CallContextTest {

    @Test
    void everyCallPolyplexMakesUsesAContextOfItsOwnArityInEveryLoadOrder(@TempDir Path dir) throws Exception {
        Path agent = agentJar(dir);
        List<String> groups = CallContextProbe.GROUPS;
        List<List<String>> orders = new ArrayList<>();
        for (int first = 0; first < groups.size(); first++) {
            List<String> order = new ArrayList<>(groups.subList(first, groups.size()));
            order.addAll(groups.subList(0, first));
            orders.add(order);
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<String>> runs = new ArrayList<>();
            for (List<String> order : orders) {
                runs.add(pool.submit(() -> run(agent, order, dir)));
            }
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < runs.size(); i++) {
                String out = runs.get(i).get(150, TimeUnit.SECONDS);
                String header = "load order " + orders.get(i) + ":\n";
                if (out.contains("WRONG") || !out.contains("EXIT 0")) {
                    failures.add(header + out.lines().filter(l -> !l.startsWith("OK ")).reduce("", (a, b) -> a + b + "\n"));
                }
                for (String seen : List.of("OK LibC.fcntl(III)I fixed=2/3", "OK SocketLibrary.fcntl(III)I fixed=2/3",
                        "OK KqueueLibrary.fcntl(III)I fixed=2/3", "OK SocketLibrary.socket(III)I fixed=3/3",
                        "OK jnr-enxio.fcntl(III)I fixed=2/3", "OK jnr-posix.open(Ljava/lang/CharSequence;II)I fixed=2/3",
                        "OK EpollLibrary.epoll_wait")) {
                    assertTrue(out.contains(seen) || out.contains("WRONG"), header + "no line " + seen + " in\n" + out);
                }
            }
            assertEquals(List.of(), failures, "bound methods called through a context of the wrong arity");
        } finally {
            pool.shutdownNow();
        }
    }

    /** A jar whose manifest names the probe as a Java agent; the probe itself is on the class path. */
    private static Path agentJar(Path dir) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(new Attributes.Name("Premain-Class"), CallContextProbe.class.getName());
        Path jar = dir.resolve("call-context-probe.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, manifest)) {
            j.flush();
        }
        return jar;
    }

    private static String run(Path agent, List<String> order, Path dir) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                "-javaagent:" + agent, "-Djnr.ffi.x86asm.enabled=false", "-Xshare:auto"));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), CallContextProbe.class.getName()));
        command.addAll(order);
        Path log = Files.createTempFile(dir, "probe", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return Files.readString(log, StandardCharsets.UTF_8) + "\nTIMEOUT";
        }
        return Files.readString(log, StandardCharsets.UTF_8) + "\nEXIT " + p.exitValue();
    }
}
