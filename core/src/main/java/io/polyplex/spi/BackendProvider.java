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

    /**
     * The backend's name.
     *
     * @return a name unique on the class path: {@code "epoll"}, {@code "kqueue"}, ...
     */
    String name();

    /**
     * Whether this backend runs on this OS and CPU.
     *
     * @return empty if it runs here; otherwise one sentence saying why not
     */
    Optional<String> unsupportedReason();

    /**
     * What the backend offers beyond level-triggered readiness, as {@link #open} will.
     *
     * @return the capabilities; core adds {@link Capability#ONE_SHOT} where it is missing
     */
    Set<Capability> capabilities();

    /**
     * Opens a new kernel object. Only called when {@link #unsupportedReason()} is empty (or by a
     * caller of {@link io.polyplex.EventQueues#open(BackendProvider,
     * java.util.function.ToIntFunction)} that vouches for it). May be called any number of times,
     * each for a new queue.
     *
     * @param maxEvents how many events one {@link Backend#poll} may return at most
     * @return a new backend, owned by the caller, which must {@link Backend#close() close} it
     * @throws IOException if the kernel object cannot be created (a {@link
     *     io.polyplex.NativeIOException})
     * @throws UnsupportedOperationException if the kernel turns out to lack something the backend
     *     needs (a backend may also find that out at its first {@link Backend#register}, and throw
     *     it from there); {@link io.polyplex.EventQueues#open(java.util.function.ToIntFunction)}
     *     then tries the next backend
     */
    Backend open(int maxEvents) throws IOException;
}
