package io.polyplex.poll;

import io.polyplex.Capability;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.util.Optional;
import java.util.Set;

/** The poll backend's provider; the backend itself is not written yet. */
public final class PollProvider implements BackendProvider {

    @Override
    public String name() {
        return "poll";
    }

    @Override
    public Optional<String> unsupportedReason() {
        return Optional.of("the poll backend is not supported yet");
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
