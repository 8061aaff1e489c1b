package io.polyplex.spi;

import io.polyplex.Capability;
import java.io.IOException;
import java.util.Optional;
import java.util.Set;

/**
 * A backend module's entry point, listed in {@code
 * META-INF/services/io.polyplex.spi.BackendProvider}. Must have a public no-argument constructor
 * that does no native work (it runs while listing backends on every OS); {@link #unsupportedReason}
 * is where a provider checks the platform.
 */
public interface BackendProvider {

    /** The backend's name, unique on the class path: {@code "epoll"}, {@code "kqueue"}, ... */
    String name();

    /** Empty if this backend runs here; otherwise one sentence saying why not. */
    Optional<String> unsupportedReason();

    /** What the backend offers beyond level-triggered readiness, as {@link #open} will. */
    Set<Capability> capabilities();

    /**
     * Opens a new kernel object. Only called when {@link #unsupportedReason()} is empty.
     *
     * @param maxEvents how many events one {@link Backend#poll} may return at most
     */
    Backend open(int maxEvents) throws IOException;
}
