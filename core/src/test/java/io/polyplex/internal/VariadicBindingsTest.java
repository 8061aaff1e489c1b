package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import jnr.ffi.annotations.Variadic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every jnr-ffi binding of a variadic C function in this project, main and test code of every
 * module, is bound as variadic (see {@link VariadicBindings} for why only Apple arm64 would show the
 * mistake). The scan itself is tested on sources written to fail it, so a scan that silently finds
 * nothing cannot pass.
 */
class VariadicBindingsTest {

    @Test
    void everyBindingOfAVariadicFunctionInTheProjectIsVariadic() throws Exception {
        Path root = VariadicBindings.projectRoot();
        VariadicBindings.Report report = VariadicBindings.scanTree(root);
        assertEquals(List.of(), report.problems(), "bindings of variadic C functions without @Variadic");
        // The scan really saw the project's bindings: these exist and bind fcntl or ioctl.
        assertTrue(report.bindingInterfaces().containsAll(Set.of("LibC", "SocketLibrary", "KqueueLibrary",
                "EpollLibrary", "PollLibrary", "SelectLibrary")), "binding interfaces found: " + report.bindingInterfaces());
        Set<String> withFcntl = Set.copyOf(report.checked().stream()
                .filter(f -> f.method().equals("fcntl")).map(VariadicBindings.Finding::type).toList());
        assertTrue(withFcntl.containsAll(Set.of("LibC", "SocketLibrary", "KqueueLibrary")), "fcntl bindings seen: " + withFcntl);
    }

    @Test
    void theScanFailsOnWhatApplesArm64WouldGetWrong(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("Bad.java"), """
                package x;
                import jnr.ffi.Pointer;
                import jnr.ffi.annotations.Variadic;
                public interface Bad {
                    public int fcntl(int fd, int cmd, int arg);
                    @Variadic(fixedCount = 3) int ioctl(int fd, long request, Pointer arg);
                    @Variadic(fixedCount = 2) int open(String path, int flags, int mode);
                    int openat(int dir, String path, int flags, int... mode);
                    int printf(String format, Object... args);
                    int close(int fd);
                }
                """);
        // Loaded through LibraryLoader in another file, without importing jnr.ffi itself.
        Files.writeString(dir.resolve("Loaded.java"), """
                package x;
                public interface Loaded {
                    public int fcntl(int fd, int cmd, long arg);
                }
                """);
        Files.writeString(dir.resolve("Loader.java"), """
                package x;
                final class Loader {
                    static final Loaded L = jnr.ffi.LibraryLoader.create(Loaded.class).load("c");
                }
                """);
        // Not a binding: an interface with a method named open that has nothing to do with jnr-ffi.
        Files.writeString(dir.resolve("Provider.java"), """
                package x;
                public interface Provider {
                    Object open(int maxEvents);
                }
                """);
        VariadicBindings.Report report;
        try (var files = Files.list(dir)) {
            report = VariadicBindings.scan(files.sorted().toList());
        }
        List<String> problems = report.problems().stream().map(f -> f.type() + "." + f.method()).toList();
        assertEquals(List.of("Bad.fcntl", "Bad.ioctl", "Loaded.fcntl"), problems, report.problems().toString());
        assertEquals(Set.of("Bad", "Loaded"), report.bindingInterfaces());
    }

    /** What jnr-ffi itself will see at run time for core's own bindings. */
    @Test
    void coresBindingsCarryTheAnnotationAtRunTime() throws Exception {
        for (Class<?> binding : List.of(LibC.class, io.polyplex.internal.SocketLibrary.class)) {
            Method fcntl = binding.getMethod("fcntl", int.class, int.class, int.class);
            Variadic v = fcntl.getAnnotation(Variadic.class);
            assertTrue(v != null && v.fixedCount() == 2, binding.getSimpleName() + ".fcntl: " + v);
        }
    }
}
