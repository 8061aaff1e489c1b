package io.polyplex.kqueue;

import java.util.Optional;
import java.util.function.Supplier;
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
 * Reading 64-byte results with the 32-byte stride misreads every event after the first, and the other
 * way round. Which layout FreeBSD's {@code kevent} takes depends on the libc the process loaded, not
 * on the kernel: FreeBSD 12's libc keeps FreeBSD 11's function as {@code kevent@FBSD_1.0} (syscall
 * 363, {@code freebsd11_kevent}) beside the default {@code kevent@@FBSD_1.5} (syscall 560), while a
 * jail with a FreeBSD 11 userland on a newer host has only the old one ({@code lib/libc/sys/Symbol.map},
 * {@code lib/libc/include/compat.h}, {@code sys/kern/syscalls.master}). So on FreeBSD the layout is the
 * one of the version the plain name {@code kevent} resolves to in the loaded libc ({@link
 * io.polyplex.internal.SymbolVersions}), never the kernel's release ({@code os.version}). macOS
 * ({@code bsd/sys/event.h}, 32 bytes under {@code #pragma pack(4)}), OpenBSD and DragonFly ({@code
 * sys/sys/event.h}) have only the 32-byte one. An OS whose layout is not described here (NetBSD has
 * 32-bit filter and flags, 32-bit systems have 4-byte pointers) is refused, never guessed.
 *
 * @param name the layout, for messages
 * @param size bytes per {@code struct kevent}: the stride of every changelist and event list
 */
public record KeventLayout(String name, int size) {

    /** Offset of {@code ident} (the fd), 8 bytes, in both layouts. */
    public static final int IDENT = 0;
    /** Offset of {@code filter} (EVFILT_READ, EVFILT_WRITE), 2 bytes, in both layouts. */
    public static final int FILTER = 8;
    /** Offset of {@code flags} (EV_*), 2 bytes, in both layouts. */
    public static final int FLAGS = 10;
    /** Offset of {@code fflags}, 4 bytes, in both layouts. */
    public static final int FFLAGS = 12;
    /** Offset of {@code data} (an errno in a receipt), 8 bytes, in both layouts. */
    public static final int DATA = 16;
    /** Offset of {@code udata} (the token), 8 bytes, in both layouts. */
    public static final int UDATA = 24;

    /** macOS, OpenBSD, DragonFly and FreeBSD before 12, on 64-bit CPUs. */
    public static final KeventLayout KEVENT32 = new KeventLayout("32-byte struct kevent", 32);
    /** FreeBSD 12 and newer: 64-bit data and ext[4]. */
    public static final KeventLayout KEVENT64 = new KeventLayout("FreeBSD 12+ 64-byte struct kevent", 64);

    /** FreeBSD's versions of {@code kevent}: the 64-byte struct's, then the 32-byte one's. */
    static final String FBSD_64 = "FBSD_1.5";
    static final String FBSD_32 = "FBSD_1.0";

    /**
     * The layout for this OS and CPU, or empty with the reason in {@link #unknownReason}.
     *
     * @param os the system, as jnr-ffi names it
     * @param addressSize the CPU's pointer size in bits; only 64 is described
     * @param keventVersion on FreeBSD, which of {@value #FBSD_32} and {@value #FBSD_64} the plain
     *     name {@code kevent} resolves to in the loaded libc (empty if neither); asked only there
     * @return the layout, or empty where it is not known
     */
    public static Optional<KeventLayout> forPlatform(Platform.OS os, int addressSize,
                                                     Supplier<Optional<String>> keventVersion) {
        if (addressSize != 64) {
            return Optional.empty();
        }
        return switch (os) {
            case DARWIN, OPENBSD, DRAGONFLY -> Optional.of(KEVENT32);
            case FREEBSD -> keventVersion.get().map(v -> v.equals(FBSD_64) ? KEVENT64 : KEVENT32);
            default -> Optional.empty();
        };
    }

    /**
     * The layout for {@code platform}, on FreeBSD from the version of {@code kevent} the C library
     * of the process resolves by name: the decision the provider makes, with every input a parameter
     * (a test passes jnr-ffi's platform object for another OS and that OS's dynamic linker).
     *
     * @param platform jnr-ffi's description of the system
     * @param addressSize the CPU's pointer size in bits
     * @param libc the symbol-version look-up in the process's C library
     * @return the layout, or empty where it is not known
     */
    static Optional<KeventLayout> of(Platform platform, int addressSize, io.polyplex.internal.SymbolVersions libc) {
        return forPlatform(platform.getOS(), addressSize, () -> libc.defaultVersion("kevent", FBSD_32, FBSD_64));
    }

    static String unknownReason(Platform.OS os, int addressSize) {
        if (addressSize != 64) {
            return "the struct kevent layout of " + addressSize + "-bit systems is not described here";
        }
        return switch (os) {
            case LINUX, WINDOWS, SOLARIS, AIX, ZLINUX -> "kqueue does not exist on " + os;
            case FREEBSD -> "cannot tell which struct kevent the loaded libc's kevent takes: it is neither"
                    + " kevent@" + FBSD_64 + " (64 bytes) nor kevent@" + FBSD_32 + " (32 bytes); refusing to guess";
            default -> "the struct kevent layout of " + os + " is not described here; refusing to guess";
        };
    }
}
