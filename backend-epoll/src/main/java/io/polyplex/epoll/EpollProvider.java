package io.polyplex.epoll;

import io.polyplex.Capability;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;

/** The epoll backend (Linux 2.6.27+ for epoll_create1 and EPOLLRDHUP). Found by ServiceLoader. */
public final class EpollProvider implements BackendProvider {

    /** The binding to use; null: libc's, loaded on first use. A test substitutes one to inject faults. */
    private final EpollLibrary library;

    /**
     * The provider {@link java.util.ServiceLoader} instantiates. Does no native work: libc's epoll
     * calls are bound when the first queue opens.
     */
    public EpollProvider() {
        this(null);
    }

    EpollProvider(EpollLibrary library) {
        this.library = library;
    }


    private static final Set<Capability> CAPABILITIES = Set.copyOf(EnumSet.of(
            Capability.EDGE_TRIGGERED, Capability.ONE_SHOT, Capability.KERNEL_PEER_CLOSED,
            Capability.UNLIMITED_FDS, Capability.SCALABLE));

    @Override
    public String name() {
        return "epoll";
    }

    @Override
    public Optional<String> unsupportedReason() {
        Platform p = Platform.getNativePlatform();
        if (p.getOS() != Platform.OS.LINUX) {
            return Optional.of("epoll exists only on Linux, this is " + p.getOS());
        }
        return Optional.empty();
    }

    @Override
    public Set<Capability> capabilities() {
        return CAPABILITIES;
    }

    @Override
    public Backend open(int maxEvents) throws IOException {
        return new EpollBackend(library != null ? library : Holder.LIBRARY, maxEvents);
    }

    /** Loads libc's epoll calls on first use only, so listing backends on macOS loads nothing. */
    private static final class Holder {
        static final EpollLibrary LIBRARY = LibraryLoader.create(EpollLibrary.class)
                .load(Platform.getNativePlatform().getStandardCLibraryName());
    }
}
