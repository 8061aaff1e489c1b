package io.polyplex;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A backend found on the class path, as listed by {@link EventQueues#backends()}.
 *
 * @param name the name to pass to {@link EventQueues#open(String, java.util.function.ToIntFunction)}
 * @param supported whether it can run on this OS, CPU and kernel
 * @param unsupportedReason why not, when {@code supported} is false
 * @param capabilities what it offers beyond level-triggered readiness
 */
public record BackendInfo(String name, boolean supported, Optional<String> unsupportedReason,
                          Set<Capability> capabilities) {

    /**
     * Checks the components and keeps an immutable copy of {@code capabilities}.
     *
     * @param name the name to pass to {@link EventQueues#open(String,
     *     java.util.function.ToIntFunction)}
     * @param supported whether it can run on this OS, CPU and kernel
     * @param unsupportedReason why not, when {@code supported} is false
     * @param capabilities what it offers beyond level-triggered readiness
     * @throws NullPointerException if {@code name}, {@code unsupportedReason} or {@code
     *     capabilities} is null, or {@code capabilities} contains null
     */
    public BackendInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(unsupportedReason, "unsupportedReason");
        // An EnumSet iterates in declaration order; Set.copyOf's order changed from run to run.
        EnumSet<Capability> ordered = EnumSet.noneOf(Capability.class);
        ordered.addAll(capabilities);
        capabilities = Collections.unmodifiableSet(ordered);
    }

    /**
     * {@code "epoll [EDGE_TRIGGERED, ONE_SHOT, ...]"} with the capabilities in {@link Capability}'s
     * order, {@code "select (no optional capabilities)"}, or {@code "kqueue (unsupported: why)"}.
     */
    @Override
    public String toString() {
        if (!supported) {
            return name + " (unsupported: " + unsupportedReason.orElse("?") + ")";
        }
        return name + (capabilities.isEmpty() ? " (no optional capabilities)" : " " + capabilities);
    }
}
