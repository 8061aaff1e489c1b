package io.polyplex.kqueue;

import io.polyplex.Capability;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;

/**
 * The kqueue backend (macOS, FreeBSD, OpenBSD, DragonFly, 64-bit). Found by ServiceLoader; a test
 * builds one over a substituted {@link KqueueLibrary} and layout with the package-private
 * constructor.
 */
public final class KqueueProvider implements BackendProvider {

    private static final Set<Capability> CAPABILITIES = Set.copyOf(EnumSet.of(
            Capability.EDGE_TRIGGERED, Capability.ONE_SHOT, Capability.KERNEL_PEER_CLOSED,
            Capability.UNLIMITED_FDS, Capability.SCALABLE));

    private final KqueueLibrary library; // null: load libc when first opened
    private final KeventLayout layout;   // null: the running platform's
    private final java.util.function.IntSupplier errno;

    /**
     * The provider {@link java.util.ServiceLoader} instantiates. Does no native work: libc's kqueue
     * calls are bound when the first queue opens.
     */
    public KqueueProvider() {
        this(null, null, null);
    }

    KqueueProvider(KqueueLibrary library, KeventLayout layout, java.util.function.IntSupplier errno) {
        this.library = library;
        this.layout = layout;
        this.errno = errno;
    }

    @Override
    public String name() {
        return "kqueue";
    }

    @Override
    public Optional<String> unsupportedReason() {
        if (layout != null) {
            return Optional.empty();
        }
        return PlatformLayout.LAYOUT.isPresent() ? Optional.empty()
                : Optional.of(KeventLayout.unknownReason(Platform.getNativePlatform().getOS(),
                        PlatformLayout.addressBits()));
    }

    /** This platform's layout, found once (on FreeBSD it asks the dynamic linker which kevent libc has). */
    private static final class PlatformLayout {
        static final Optional<KeventLayout> LAYOUT = KeventLayout.of(Platform.getNativePlatform(), addressBits(),
                io.polyplex.internal.SymbolVersions.ofThisProcess());

        /** Pointer width in bits: the native runtime's sizeof(void *) (in bytes) times 8. */
        static int addressBits() {
            return Runtime.getSystemRuntime().addressSize() * 8;
        }
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public Backend open(int maxEvents) throws IOException {
        if (library != null) {
            return new KqueueBackend(library, layout, errno, maxEvents);
        }
        KeventLayout l = PlatformLayout.LAYOUT
                .orElseThrow(() -> new UnsupportedOperationException(unsupportedReason().orElse("kqueue")));
        Runtime runtime = Runtime.getRuntime(Holder.LIBRARY);
        return new KqueueBackend(Holder.LIBRARY, l, runtime::getLastError, maxEvents);
    }

    private static final class Holder {
        static final KqueueLibrary LIBRARY = LibraryLoader.create(KqueueLibrary.class)
                .load(Platform.getNativePlatform().getStandardCLibraryName());
    }
}
