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
        // A default method: jnr-ffi does not bind it (Polyplex's fcntl, which calls VariadicFunction).
        Files.writeString(dir.resolve("Delegating.java"), """
                package x;
                import jnr.ffi.Pointer;
                public interface Delegating {
                    default int fcntl(int fd, int cmd, int arg) { return 0; }
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
        assertEquals(Set.of("Bad", "Loaded", "Delegating"), report.bindingInterfaces());
    }

    /**
     * Core's fcntl is a default method, which jnr-ffi does not bind, calling through a jffi call
     * context prepared as variadic with two fixed parameters; it works, and its errno reaches the
     * binding's runtime. (Which context every bound method of the process uses, in every load order,
     * is integration-tests' CallContextTest.)
     */
    @Test
    void coresFcntlGoesThroughAVariadicContextOfItsOwn() throws Exception {
        for (Class<?> binding : List.of(LibC.class, io.polyplex.internal.SocketLibrary.class)) {
            Method fcntl = binding.getMethod("fcntl", int.class, int.class, int.class);
            assertTrue(fcntl.isDefault() && fcntl.getAnnotation(Variadic.class) == null, binding.getSimpleName() + ".fcntl");
        }
        com.kenai.jffi.CallContext context = VariadicFunction.FCNTL.callContext();
        java.lang.reflect.Field fixed = com.kenai.jffi.CallContext.class.getDeclaredField("fixedParamCount");
        fixed.setAccessible(true);
        assertEquals(2, fixed.getInt(context), "fixed parameters of fcntl's context");
        assertEquals(3, context.getParameterCount());
        int[] fds = new int[2];
        assertEquals(0, LibC.INSTANCE.pipe(fds));
        try {
            int getfd = jnr.constants.platform.Fcntl.F_GETFD.intValue();
            int setfd = jnr.constants.platform.Fcntl.F_SETFD.intValue();
            assertEquals(0, LibC.INSTANCE.fcntl(fds[0], getfd, 0) & 1, "a plain pipe is not close-on-exec");
            assertEquals(0, LibC.INSTANCE.fcntl(fds[0], setfd, 1));
            assertEquals(1, LibC.INSTANCE.fcntl(fds[0], getfd, 0) & 1, "the variadic argument arrived");
            assertEquals(-1, io.polyplex.internal.SocketLibrary.INSTANCE.fcntl(-1, getfd, 0));
            assertEquals(NativeErrors.EBADF, io.polyplex.internal.SocketLibrary.RUNTIME.getLastError(), "errno of the call");
        } finally {
            LibC.INSTANCE.close(fds[0]);
            LibC.INSTANCE.close(fds[1]);
        }
    }
}
