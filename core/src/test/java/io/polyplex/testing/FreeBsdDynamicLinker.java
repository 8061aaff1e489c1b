package io.polyplex.testing;

import io.polyplex.internal.SymbolVersions;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * FreeBSD's run-time linker ({@code libexec/rtld-elf/rtld.c}) answering dlopen, dlsym, dlvsym,
 * dladdr and dlclose the way it does in a JVM process on FreeBSD, so {@link SymbolVersions} runs on
 * Linux with FreeBSD's inputs. Each rule was read in the rtld function it names (FreeBSD 12 to 14),
 * not taken from what {@link SymbolVersions} expects:
 *
 * <ol>
 *   <li>{@code dlopen(NULL)} is the main program's handle ({@code rtld_dlopen}, {@code
 *       dlopen_object} with no name: {@code obj_main}).</li>
 *   <li>{@code dlopen(name)} first matches an object already loaded by its path or one of its names,
 *       the soname included ({@code load_object}, {@code object_match_name}); otherwise a name
 *       holding a '/' is a path to open, and any other name is looked up as a file of exactly that
 *       name in LD_LIBRARY_PATH, the rpath, the hints and {@code /lib:/usr/lib} ({@code
 *       find_library}, {@code search_library_path}). No file is called {@code c}: jnr-ffi's
 *       standard C library name on FreeBSD finds nothing ("Shared object "c" not found"). This
 *       emulation has no files besides the objects it models as loaded.</li>
 *   <li>{@code dlsym} on the main program's handle searches the global scope, every object loaded
 *       at start in load order ({@code do_dlsym}: {@code obj->mainprog}, {@code symlook_global});
 *       on another object's handle, that object's DAG ({@code symlook_list} over {@code
 *       dagmembers}).</li>
 *   <li>A plain {@code dlsym} never returns a hidden versioned definition (the ones {@code
 *       __sym_compat} makes, {@code VER_NDX_HIDDEN}); it returns the default one ({@code
 *       symlook_obj1} with no {@code ventry}); {@code dlvsym} returns the definition of exactly that
 *       version, hidden or not ({@code dlvsym} builds a {@code Ver_Entry} for {@code do_dlsym}).</li>
 *   <li>{@code dladdr} names the object whose mapping holds the address: {@code dli_fname} is
 *       {@code obj->path}, the path it was loaded from ({@code dladdr}).</li>
 * </ol>
 *
 * <p>The process: {@code /usr/local/openjdk17/bin/java}, then {@code /lib/libthr.so.3} and {@code
 * /lib/libc.so.7}. FreeBSD 12 and newer's libc has {@code kevent@@FBSD_1.5} and the hidden {@code
 * kevent@FBSD_1.0} ({@code lib/libc/sys/Symbol.map}, {@code lib/libc/include/compat.h}); a FreeBSD 11
 * userland (a jail on a newer kernel) has only {@code kevent@@FBSD_1.0}. libthr defines no {@code
 * kevent} (its {@code __thr_kevent} is static, installed in libc's interposing table: {@code
 * lib/libthr/thread/thr_syscalls.c}). Addresses are made up.
 */
public final class FreeBsdDynamicLinker implements SymbolVersions.DynamicLinker {

    /** One definition of a symbol in an object: its version, whether it is hidden, its address. */
    record Definition(String name, String version, boolean hidden, long address) { }

    /** A loaded object: where it was loaded from, its soname, where it is mapped, what it defines. */
    record SharedObject(String path, String soname, long base, long size, List<Definition> symbols) {
        boolean holds(long address) {
            return address >= base && address < base + size;
        }
    }

    private static final long MAIN = 1;
    private final List<SharedObject> loaded = new ArrayList<>();
    private final List<String> opened = new ArrayList<>();
    private final List<Pointer> strings = new ArrayList<>();

    private FreeBsdDynamicLinker(boolean freeBsd11Userland) {
        loaded.add(new SharedObject("/usr/local/openjdk17/bin/java", null, 0x200000L, 0x10000L, List.of(
                new Definition("main", null, false, 0x201000L))));
        loaded.add(new SharedObject("/lib/libthr.so.3", "libthr.so.3", 0x800200000L, 0x40000L, List.of(
                new Definition("pthread_create", "FBSD_1.0", false, 0x800201000L))));
        List<Definition> libc = new ArrayList<>();
        libc.add(new Definition("fcntl", "FBSD_1.0", false, 0x800401000L));
        if (freeBsd11Userland) {
            libc.add(new Definition("kevent", "FBSD_1.0", false, 0x800402000L));
        } else {
            libc.add(new Definition("kevent", "FBSD_1.0", true, 0x800402000L)); // freebsd11_kevent
            libc.add(new Definition("kevent", "FBSD_1.5", false, 0x800403000L));
        }
        loaded.add(new SharedObject("/lib/libc.so.7", "libc.so.7", 0x800400000L, 0x200000L, libc));
    }

    /**
     * A FreeBSD 12 to 14 process.
     *
     * @return the linker of a JVM on a current FreeBSD
     */
    public static FreeBsdDynamicLinker freeBsd14() {
        return new FreeBsdDynamicLinker(false);
    }

    /**
     * A FreeBSD 11 userland, e.g. a jail on a newer kernel.
     *
     * @return the linker of a JVM whose libc has only the 32-byte kevent
     */
    public static FreeBsdDynamicLinker freeBsd11Userland() {
        return new FreeBsdDynamicLinker(true);
    }

    /**
     * Every name or path dlopen was asked for, in order.
     *
     * @return the names
     */
    public List<String> opened() {
        return List.copyOf(opened);
    }

    @Override
    public long dlopen(String file, int mode) {
        opened.add(String.valueOf(file));
        if (file == null) {
            return MAIN; // rule 1
        }
        for (int i = 0; i < loaded.size(); i++) {
            SharedObject o = loaded.get(i);
            if (file.equals(o.path()) || file.equals(o.soname())) {
                return MAIN + i; // rule 2: already loaded
            }
        }
        return 0; // rule 2: no such file (a path not loaded here, or a bare name like "c")
    }

    @Override
    public int dlclose(long handle) {
        return handle >= MAIN && handle < MAIN + loaded.size() ? 0 : -1;
    }

    @Override
    public Pointer dlsym(long handle, String symbol) {
        return find(handle, symbol, null);
    }

    @Override
    public Pointer dlvsym(long handle, String symbol, String version) {
        return find(handle, symbol, version);
    }

    /**
     * dladdr(3): rule 5.
     *
     * @param address an address
     * @param info a {@code Dl_info} to fill: {@code dli_fname}, {@code dli_fbase}, {@code
     *     dli_sname}, {@code dli_saddr}, one pointer each
     * @return 1 if an object holds the address, else 0
     */
    @Override
    public int dladdr(Pointer address, Pointer info) {
        for (SharedObject o : loaded) {
            if (o.holds(address.address())) {
                Pointer name = Memory.allocateDirect(Runtime.getSystemRuntime(), o.path().length() + 1, true);
                name.putString(0, o.path(), o.path().length() + 1, java.nio.charset.StandardCharsets.US_ASCII);
                strings.add(name); // keep it alive, as rtld's obj->path is
                int ptr = Runtime.getSystemRuntime().addressSize();
                info.putAddress(0, name.address());
                info.putAddress(ptr, o.base());
                info.putAddress(2L * ptr, 0);
                info.putAddress(3L * ptr, 0);
                return 1;
            }
        }
        return 0;
    }

    /** Rules 3 and 4. */
    private Pointer find(long handle, String symbol, String version) {
        List<SharedObject> scope;
        if (handle == MAIN) {
            scope = loaded; // the global scope
        } else if (handle > MAIN && handle < MAIN + loaded.size()) {
            scope = List.of(loaded.get((int) (handle - MAIN))); // its DAG: these objects need nothing modelled here
        } else {
            return null;
        }
        for (SharedObject o : scope) {
            for (Definition d : o.symbols()) {
                if (d.name().equals(symbol) && (version == null ? !d.hidden() : version.equals(d.version()))) {
                    return Pointer.wrap(Runtime.getSystemRuntime(), d.address());
                }
            }
        }
        return null;
    }
}
