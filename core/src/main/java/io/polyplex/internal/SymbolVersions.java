package io.polyplex.internal;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
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
 * <p>The answer comes from the dynamic linker, asked about the C library this process really runs:
 * the object that defines the plain name in the global scope ({@code dlopen(NULL)}, {@code dlsym}),
 * named by {@code dladdr} and opened by that path (it is loaded already, so this only takes a
 * reference). Not by the name jnr-ffi loads the C library by: that is {@code "libc.so.6"} on Linux
 * but the bare {@code "c"} on FreeBSD, macOS and the other BSDs (jnr-ffi 2.3.7 {@code
 * Platform.getStandardCLibraryName}), which jnr-ffi turns into a file itself ({@code
 * NativeLibrary.loadNativeLibraries}: {@code libc.so} in its search path, an ld script whose {@code
 * GROUP} names {@code /lib/libc.so.7}), while FreeBSD's rtld looks a name without a '/' up as a file
 * of exactly that name ({@code find_library}) and finds none. In that library, {@code dlsym(libc,
 * name)}, the address a binding by name gets, is compared with {@code dlvsym(libc, name, version)}
 * for each candidate. glibc and FreeBSD's rtld have dlvsym and dladdr ({@code include/dlfcn.h}); the
 * binding of the dynamic linker's own functions is looked up in the process's global scope, where
 * FreeBSD's rtld resolves them to its own functions rather than libc's weak stubs ({@code
 * do_dlsym}). Other systems (macOS, OpenBSD, DragonFly) have no symbol versions: the answer is then
 * empty, and the dynamic linker is not asked.
 *
 * <p>Every input that differs by OS is a constructor argument (jnr-ffi's {@link Platform} for the
 * OS, and the {@link DynamicLinker}), so a Linux test runs this code with another system's answers;
 * {@link #ofThisProcess()} is the production instance.
 */
public final class SymbolVersions {

    /**
     * dlopen(3), dlsym(3), dlvsym(3) and dlclose(3), bound from the process's global scope. Public
     * only because jnr-ffi implements it in a class loader of its own, and so a test can answer as
     * another system's dynamic linker would.
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

        /**
         * dladdr(3): which loaded object holds an address.
         *
         * @param address the address
         * @param info a {@code Dl_info} to fill: four pointers, {@code dli_fname} (the object's
         *     path) first, in glibc's and FreeBSD's {@code dlfcn.h}
         * @return non-zero if an object holds the address, 0 if none does
         */
        int dladdr(Pointer address, Pointer info);
    }

    /** RTLD_LAZY: 1 in glibc's and FreeBSD's {@code dlfcn.h}. */
    private static final int RTLD_LAZY = 1;

    private final Platform platform;
    private final Supplier<DynamicLinker> linker;

    /**
     * The look-up as it runs on {@code platform}, asking {@code linker}.
     *
     * @param platform jnr-ffi's description of the system, for its OS
     * @param linker the dynamic linker, asked only on systems with symbol versions; may supply null
     *     where there is none to bind
     */
    public SymbolVersions(Platform platform, Supplier<DynamicLinker> linker) {
        this.platform = Objects.requireNonNull(platform, "platform");
        this.linker = Objects.requireNonNull(linker, "linker");
    }

    /**
     * The look-up in this process: the native platform and its own dynamic linker.
     *
     * @return the production instance
     */
    public static SymbolVersions ofThisProcess() {
        return new SymbolVersions(Platform.getNativePlatform(), SymbolVersions::bindDynamicLinker);
    }

    private static DynamicLinker bindDynamicLinker() {
        try {
            return LibraryLoader.create(DynamicLinker.class).load("RTLD_DEFAULT");
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
    }

    /**
     * The version among {@code candidates} whose address is the one the plain {@code symbol} of the
     * standard C library resolves to; empty if none is (or the symbol is missing, or this system has
     * no symbol versions).
     *
     * @param symbol the function's plain name, e.g. {@code "kevent"}
     * @param candidates the versions to compare it with, e.g. {@code "FBSD_1.0", "FBSD_1.5"}
     * @return the matching version, or empty
     */
    public Optional<String> defaultVersion(String symbol, String... candidates) {
        Platform.OS os = platform.getOS();
        if (os != Platform.OS.LINUX && os != Platform.OS.FREEBSD) {
            return Optional.empty();
        }
        DynamicLinker dl = linker.get();
        if (dl == null) {
            return Optional.empty();
        }
        String file = definingObject(dl, symbol);
        if (file == null) {
            return Optional.empty();
        }
        long libc = dl.dlopen(file, RTLD_LAZY);
        if (libc == 0) {
            return Optional.empty();
        }
        try {
            return defaultVersion(dl, libc, symbol, candidates);
        } finally {
            dl.dlclose(libc); // it stays loaded: the process had it open already
        }
    }

    /**
     * The path of the object that defines {@code symbol} in this process's global scope (for a C
     * library function, the C library the process runs), or null.
     */
    private static String definingObject(DynamicLinker dl, String symbol) {
        long global = dl.dlopen(null, RTLD_LAZY);
        if (global == 0) {
            return null;
        }
        try {
            Pointer address = dl.dlsym(global, symbol);
            if (address == null || address.address() == 0) {
                return null;
            }
            jnr.ffi.Runtime rt = jnr.ffi.Runtime.getSystemRuntime();
            Pointer info = jnr.ffi.Memory.allocateDirect(rt, 4L * rt.addressSize(), true);
            if (dl.dladdr(address, info) == 0) {
                return null;
            }
            Pointer name = info.getPointer(0);
            return name == null || name.address() == 0 ? null : name.getString(0);
        } finally {
            dl.dlclose(global);
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
