package io.polyplex.internal;

import java.util.Optional;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.types.intptr_t;

/**
 * Which version of a versioned C-library function its plain name finds in this process. An ELF C
 * library keeps the old ABIs of a function as versioned symbols beside the default one: FreeBSD
 * 12's libc has {@code kevent@FBSD_1.0} (FreeBSD 11's 32-byte {@code struct kevent}) and {@code
 * kevent@@FBSD_1.5} (the 64-byte one), made by {@code __sym_compat(kevent, freebsd11_kevent,
 * FBSD_1.0)} in {@code lib/libc/include/compat.h} and listed in {@code lib/libc/sys/Symbol.map}. A
 * binding by name, as jnr-ffi makes, gets the default, and which that is depends on the libc the
 * process loaded, not on the kernel: a jail with a FreeBSD 11 userland on a FreeBSD 14 host has only
 * the 32-byte one.
 *
 * <p>The answer comes from the dynamic linker, asked about the C library jnr-ffi binds (its handle
 * from {@code dlopen} of the same name, which the process has loaded already): {@code dlsym(libc,
 * name)}, the address a binding by name gets, compared with {@code dlvsym(libc, name, version)} for
 * each candidate. glibc and FreeBSD's rtld have dlvsym ({@code include/dlfcn.h}); the binding of
 * dlopen, dlsym and dlvsym themselves is looked up in the process's global scope, where FreeBSD's
 * rtld resolves them to its own functions rather than libc's weak stubs ({@code do_dlsym}). Other
 * systems (macOS, OpenBSD) have no symbol versions: the answer is then empty.
 */
public final class SymbolVersions {

    /**
     * dlopen(3), dlsym(3), dlvsym(3) and dlclose(3), bound from the process's global scope. Public
     * only because jnr-ffi implements it in a class loader of its own.
     */
    public interface DynamicLinker {
        /**
         * dlopen(3).
         *
         * @param file the library's name or path
         * @param mode RTLD_* flags
         * @return a handle to pass to {@link #dlclose}, or 0 on failure
         */
        @intptr_t long dlopen(String file, int mode);

        /**
         * dlclose(3): releases one reference to the library.
         *
         * @param handle a handle from {@link #dlopen}
         * @return 0, or non-zero on failure
         */
        int dlclose(@intptr_t long handle);

        /**
         * dlsym(3): the address the plain name resolves to.
         *
         * @param handle a handle from {@link #dlopen}
         * @param symbol the name
         * @return the address, or null if there is none
         */
        Pointer dlsym(@intptr_t long handle, String symbol);

        /**
         * dlvsym(3): the address of one version of the name.
         *
         * @param handle a handle from {@link #dlopen}
         * @param symbol the name
         * @param version the version, e.g. {@code FBSD_1.5}
         * @return the address, or null if that version does not exist
         */
        Pointer dlvsym(@intptr_t long handle, String symbol, String version);
    }

    private SymbolVersions() {}

    /** RTLD_LAZY: 1 in glibc's and FreeBSD's {@code dlfcn.h}. */
    private static final int RTLD_LAZY = 1;

    /**
     * The version among {@code candidates} whose address is the one the plain {@code symbol} of the
     * standard C library resolves to; empty if none is (or the symbol is missing, or this system has
     * no symbol versions).
     *
     * @param symbol the function's plain name, e.g. {@code "kevent"}
     * @param candidates the versions to compare it with, e.g. {@code "FBSD_1.0", "FBSD_1.5"}
     * @return the matching version, or empty
     */
    public static Optional<String> defaultVersion(String symbol, String... candidates) {
        Platform.OS os = Platform.getNativePlatform().getOS();
        if (os != Platform.OS.LINUX && os != Platform.OS.FREEBSD) {
            return Optional.empty();
        }
        DynamicLinker dl;
        try {
            dl = LibraryLoader.create(DynamicLinker.class).load("RTLD_DEFAULT");
        } catch (UnsatisfiedLinkError e) {
            return Optional.empty();
        }
        long libc = dl.dlopen(Platform.getNativePlatform().getStandardCLibraryName(), RTLD_LAZY);
        if (libc == 0) {
            return Optional.empty();
        }
        try {
            return defaultVersion(dl, libc, symbol, candidates);
        } finally {
            dl.dlclose(libc); // it stays loaded: the process had it open already
        }
    }

    /** As above, in the library behind {@code handle}. */
    static Optional<String> defaultVersion(DynamicLinker dl, long handle, String symbol, String... candidates) {
        long plain = address(dl.dlsym(handle, symbol));
        if (plain == 0) {
            return Optional.empty();
        }
        for (String version : candidates) {
            if (address(dl.dlvsym(handle, symbol, version)) == plain) {
                return Optional.of(version);
            }
        }
        return Optional.empty();
    }

    private static long address(Pointer p) {
        return p == null ? 0 : p.address();
    }
}
