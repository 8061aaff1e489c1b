package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Optional;
import jnr.ffi.Platform;
import org.junit.jupiter.api.Test;

/**
 * The symbol-version look-up on a real versioned C library. On Linux x86-64, glibc keeps {@code
 * realpath@GLIBC_2.2.5} (the old one) beside {@code realpath@@GLIBC_2.3} (the default), two
 * different functions, just as FreeBSD's libc keeps {@code kevent@FBSD_1.0} beside {@code
 * kevent@@FBSD_1.5}; on FreeBSD (the workflow's leg) the look-up is asked about kevent itself.
 */
class SymbolVersionsTest {

    @Test
    void glibcsDefaultRealpathIsTheNewOne() {
        Platform p = Platform.getNativePlatform();
        assumeTrue(p.getOS() == Platform.OS.LINUX && p.getCPU() == Platform.CPU.X86_64,
                "realpath has two versions in glibc on x86-64 Linux only");
        assertEquals(Optional.of("GLIBC_2.3"), SymbolVersions.defaultVersion("realpath", "GLIBC_2.2.5", "GLIBC_2.3"));
        assertEquals(Optional.of("GLIBC_2.3"), SymbolVersions.defaultVersion("realpath", "GLIBC_2.3", "GLIBC_2.2.5"));
        // The old version exists but is not the default; a made-up one does not exist.
        assertEquals(Optional.empty(), SymbolVersions.defaultVersion("realpath", "GLIBC_2.2.5", "NO_SUCH_1.0"));
        assertEquals(Optional.empty(), SymbolVersions.defaultVersion("no_such_function_here", "GLIBC_2.2.5"));
    }

    @Test
    void freeBsdsDefaultKeventIsTheOneOfItsLibc() {
        assumeTrue(Platform.getNativePlatform().getOS() == Platform.OS.FREEBSD, "FreeBSD only");
        // A FreeBSD 12+ userland: kevent@@FBSD_1.5 is the default (a FreeBSD 11 jail would say FBSD_1.0).
        assertEquals(Optional.of("FBSD_1.5"), SymbolVersions.defaultVersion("kevent", "FBSD_1.0", "FBSD_1.5"));
    }

    @Test
    void systemsWithoutSymbolVersionsAnswerNothing() {
        Platform.OS os = Platform.getNativePlatform().getOS();
        assumeTrue(os != Platform.OS.LINUX && os != Platform.OS.FREEBSD, "Linux and FreeBSD have symbol versions");
        assertEquals(Optional.empty(), SymbolVersions.defaultVersion("kevent", "FBSD_1.0", "FBSD_1.5"));
    }
}
