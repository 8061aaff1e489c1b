package io.polyplex.select;

import io.polyplex.Capability;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.util.Optional;
import java.util.Set;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;

/**
 * The select(2) backend: runs on every POSIX system jnr-ffi knows (Linux, macOS, the BSDs,
 * Solaris, AIX...), watches only fds below FD_SETSIZE (1024), costs O(highest fd) per wait. The
 * last choice; its value is that it exists everywhere. It announces no capability: no kernel
 * peer-closed flag (core probes), no edge-triggered mode (core refuses it), no native one-shot
 * (core emulates it).
 */
public final class SelectProvider implements BackendProvider {

    /** The binding to use; null: libc's, loaded on first use. A test substitutes one to inject faults. */
    private final SelectLibrary library;

    /**
     * The provider {@link java.util.ServiceLoader} instantiates. Does no native work: libc's select
     * is bound when the first queue opens.
     */
    public SelectProvider() {
        this(null);
    }

    SelectProvider(SelectLibrary library) {
        this.library = library;
    }


    @Override
    public String name() {
        return "select";
    }

    @Override
    public Optional<String> unsupportedReason() {
        Platform.OS os = Platform.getNativePlatform().getOS();
        if (os == Platform.OS.WINDOWS || os == Platform.OS.UNKNOWN) {
            return Optional.of("select over POSIX fd numbers needs a POSIX system; this is " + os);
        }
        return Optional.empty();
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of();
    }

    @Override
    public Backend open(int maxEvents) throws IOException {
        return new SelectBackend(library != null ? library : Holder.LIBRARY, FdSetLayout.platform(), maxEvents);
    }

    /** Loads libc's select on first use only, so listing backends loads nothing. */
    private static final class Holder {
        static final SelectLibrary LIBRARY = LibraryLoader.create(SelectLibrary.class)
                .load(Platform.getNativePlatform().getStandardCLibraryName());
    }
}
