package io.polyplex.kqueue;

import java.util.Optional;
import jnr.ffi.Platform;

/**
 * Where each field of {@code struct kevent} lives: the one description every read and write of the
 * backend goes through. Two layouts exist on 64-bit systems, and they share their first 32 bytes:
 *
 * <pre>
 *   offset  field                      32-byte (macOS, OpenBSD, DragonFly, FreeBSD &lt; 12)   64-byte (FreeBSD 12+)
 *   0       ident   uintptr_t          8 bytes                                          8 bytes
 *   8       filter  int16_t            2                                                2
 *   10      flags   uint16_t           2                                                2
 *   12      fflags  uint32_t           4                                                4
 *   16      data    intptr_t/int64_t   8                                                8
 *   24      udata   void *             8                                                8
 *   32      ext     uint64_t[4]        -                                                32
 * </pre>
 *
 * Reading FreeBSD 12+ results with the 32-byte stride misreads every event after the first, so the
 * stride is chosen from the running OS and version, and an OS whose layout is not known here (NetBSD
 * has 32-bit filter and flags, 32-bit systems have 4-byte pointers) is refused, never guessed.
 */
public record KeventLayout(String name, int size) {

    public static final int IDENT = 0;
    public static final int FILTER = 8;
    public static final int FLAGS = 10;
    public static final int FFLAGS = 12;
    public static final int DATA = 16;
    public static final int UDATA = 24;

    /** macOS, OpenBSD, DragonFly and FreeBSD before 12, on 64-bit CPUs. */
    public static final KeventLayout KEVENT32 = new KeventLayout("32-byte struct kevent", 32);
    /** FreeBSD 12 and newer: 64-bit data and ext[4]. */
    public static final KeventLayout KEVENT64 = new KeventLayout("FreeBSD 12+ 64-byte struct kevent", 64);

    /** The layout for this OS, version and CPU, or empty with the reason in {@link #unknownReason}. */
    public static Optional<KeventLayout> forPlatform(Platform.OS os, String osVersion, int addressSize) {
        if (addressSize != 64) {
            return Optional.empty();
        }
        return switch (os) {
            case DARWIN, OPENBSD, DRAGONFLY -> Optional.of(KEVENT32);
            case FREEBSD -> Optional.of(majorVersion(osVersion) >= 12 ? KEVENT64 : KEVENT32);
            default -> Optional.empty();
        };
    }

    static String unknownReason(Platform.OS os, int addressSize) {
        if (addressSize != 64) {
            return "the struct kevent layout of " + addressSize + "-bit systems is not described here";
        }
        return switch (os) {
            case LINUX, WINDOWS, SOLARIS, AIX, ZLINUX -> "kqueue does not exist on " + os;
            default -> "the struct kevent layout of " + os + " is not described here; refusing to guess";
        };
    }

    static int majorVersion(String v) {
        int end = 0;
        while (end < v.length() && Character.isDigit(v.charAt(end))) {
            end++;
        }
        return end == 0 ? 0 : Integer.parseInt(v.substring(0, end));
    }
}
