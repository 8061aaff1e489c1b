package io.polyplex.select;

import io.polyplex.Capability;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.util.Optional;
import java.util.Set;

/**
 * The select backend's provider. The backend itself is not written yet: it reports itself unsupported
 * everywhere, so {@link io.polyplex.EventQueues#backends()} lists it with the reason and nothing
 * chooses it.
 */
public final class SelectProvider implements BackendProvider {

    @Override
    public String name() {
        return "select";
    }

    @Override
    public Optional<String> unsupportedReason() {
        return Optional.of("the select backend is not supported yet");
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of();
    }

    @Override
    public Backend open(int maxEvents) throws IOException {
        throw new UnsupportedOperationException(unsupportedReason().get());
    }
}
