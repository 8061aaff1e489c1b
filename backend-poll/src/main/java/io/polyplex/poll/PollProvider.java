package io.polyplex.poll;

import io.polyplex.Capability;
import io.polyplex.internal.OsConstants;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;

/**
 * The poll(2) backend: every POSIX system jnr-ffi knows (Linux, macOS, the BSDs, Solaris...), no
 * descriptor limit but the process's own, O(watched) per wait. Chosen over select where neither
 * epoll nor kqueue exists. Announces {@link Capability#UNLIMITED_FDS}, and {@link
 * Capability#KERNEL_PEER_CLOSED} on Linux only, where POLLRDHUP exists; no edge-triggered mode (core
 * refuses it) and no native one-shot (core emulates it).
 */
public final class PollProvider implements BackendProvider {

    /** The binding to use; null: libc's, loaded on first use. A test substitutes one to inject faults. */
    private final PollLibrary library;

    /**
     * The provider {@link java.util.ServiceLoader} instantiates. Does no native work: libc's poll
     * is bound when the first queue opens.
     */
    public PollProvider() {
        this(null);
    }

    PollProvider(PollLibrary library) {
        this.library = library;
    }


    @Override
    public String name() {
        return "poll";
    }

    @Override
    public Optional<String> unsupportedReason() {
        Platform.OS os = Platform.getNativePlatform().getOS();
        if (os == Platform.OS.WINDOWS || os == Platform.OS.UNKNOWN) {
            return Optional.of("poll(2) is POSIX; this is " + os);
        }
        return Optional.empty();
    }

    @Override
    public Set<Capability> capabilities() {
        return capabilitiesFor(Platform.getNativePlatform().getOS());
    }

    /**
     * POLLRDHUP (a kernel peer-closed flag) is used on Linux only ({@link OsConstants#pollRdhup}):
     * FreeBSD has one only from 15-CURRENT on, and no other system has one.
     */
    static Set<Capability> capabilitiesFor(Platform.OS os) {
        EnumSet<Capability> caps = EnumSet.of(Capability.UNLIMITED_FDS);
        if (OsConstants.forOs(os).pollRdhup() != 0) {
            caps.add(Capability.KERNEL_PEER_CLOSED);
        }
        return Set.copyOf(caps);
    }

    @Override
    public Backend open(int maxEvents) throws IOException {
        return new PollBackend(library != null ? library : Holder.LIBRARY, OsConstants.CURRENT.pollRdhup(), maxEvents);
    }

    private static final class Holder {
        static final PollLibrary LIBRARY = LibraryLoader.create(PollLibrary.class)
                .load(Platform.getNativePlatform().getStandardCLibraryName());
    }
}
