package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.polyplex.testing.FreeBsdDynamicLinker;
import io.polyplex.testing.JnrPlatforms;
import java.util.Optional;
import jnr.ffi.Platform;
import org.junit.jupiter.api.Test;

/**
 * The symbol-version look-up, on this machine's real dynamic linker and, on Linux, with FreeBSD's:
 * jnr-ffi's own platform object for FreeBSD ({@link JnrPlatforms}) and FreeBSD's rtld answering
 * ({@link FreeBsdDynamicLinker}), so the code that decides FreeBSD's {@code struct kevent} runs here
 * with that system's inputs. On Linux x86-64, glibc keeps {@code realpath@GLIBC_2.2.5} (the old
 * one) beside {@code realpath@@GLIBC_2.3} (the default), two different functions, just as FreeBSD's
 * libc keeps {@code kevent@FBSD_1.0} beside {@code kevent@@FBSD_1.5}.
 */
class SymbolVersionsTest {

    @Test
    void glibcsDefaultRealpathIsTheNewOne() {
        Platform p = Platform.getNativePlatform();
        assumeTrue(p.getOS() == Platform.OS.LINUX && p.getCPU() == Platform.CPU.X86_64,
                "realpath has two versions in glibc on x86-64 Linux only");
        SymbolVersions libc = SymbolVersions.ofThisProcess();
        assertEquals(Optional.of("GLIBC_2.3"), libc.defaultVersion("realpath", "GLIBC_2.2.5", "GLIBC_2.3"));
        assertEquals(Optional.of("GLIBC_2.3"), libc.defaultVersion("realpath", "GLIBC_2.3", "GLIBC_2.2.5"));
        // The old version exists but is not the default; a made-up one does not exist.
        assertEquals(Optional.empty(), libc.defaultVersion("realpath", "GLIBC_2.2.5", "NO_SUCH_1.0"));
        assertEquals(Optional.empty(), libc.defaultVersion("no_such_function_here", "GLIBC_2.2.5"));
    }

    /**
     * What a JVM on FreeBSD 12 to 14 sees: jnr-ffi calls the C library {@code "c"} there, which is no
     * file, and the libc the process runs is {@code /lib/libc.so.7}, whose plain {@code kevent} is
     * {@code kevent@@FBSD_1.5}.
     */
    @Test
    void freeBsdsKeventIsTheOneOfTheLibcThisProcessRuns() {
        Platform freebsd = JnrPlatforms.of(Platform.OS.FREEBSD);
        assertEquals("c", freebsd.getStandardCLibraryName(), "jnr-ffi's name for FreeBSD's C library (not a file)");
        FreeBsdDynamicLinker rtld = FreeBsdDynamicLinker.freeBsd14();
        SymbolVersions libc = new SymbolVersions(freebsd, () -> rtld);
        assertEquals(Optional.of("FBSD_1.5"), libc.defaultVersion("kevent", "FBSD_1.0", "FBSD_1.5"),
                "dlopen was asked for " + rtld.opened());
        assertEquals(java.util.List.of("null", "/lib/libc.so.7"), rtld.opened().subList(0, 2),
                "the global scope, then the object that defines kevent there, by its path");
        assertEquals(Optional.of("FBSD_1.5"), libc.defaultVersion("kevent", "FBSD_1.5", "FBSD_1.0"));
        assertEquals(Optional.empty(), libc.defaultVersion("kevent", "FBSD_1.0"), "the hidden compat version is not the default");
        assertEquals(Optional.empty(), libc.defaultVersion("no_such_function", "FBSD_1.0"));
    }

    /** A FreeBSD 11 userland (a jail on a newer kernel): the libc has only the 32-byte kevent. */
    @Test
    void aFreeBsd11UserlandsKeventIsTheOldOne() {
        Platform freebsd = JnrPlatforms.of(Platform.OS.FREEBSD);
        SymbolVersions libc = new SymbolVersions(freebsd, FreeBsdDynamicLinker::freeBsd11Userland);
        assertEquals(Optional.of("FBSD_1.0"), libc.defaultVersion("kevent", "FBSD_1.0", "FBSD_1.5"));
    }

    /** macOS, OpenBSD and DragonFly have no symbol versions: the dynamic linker is not even asked. */
    @Test
    void systemsWithoutSymbolVersionsAnswerNothing() {
        for (Platform.OS os : new Platform.OS[] {Platform.OS.DARWIN, Platform.OS.OPENBSD, Platform.OS.DRAGONFLY}) {
            SymbolVersions libc = new SymbolVersions(JnrPlatforms.of(os), () -> {
                throw new AssertionError("asked the dynamic linker on " + os);
            });
            assertEquals(Optional.empty(), libc.defaultVersion("kevent", "FBSD_1.0", "FBSD_1.5"), os.toString());
        }
    }
}
