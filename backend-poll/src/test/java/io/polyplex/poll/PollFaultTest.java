package io.polyplex.poll;

import io.polyplex.conformance.FaultContract;
import io.polyplex.conformance.Faults;
import io.polyplex.spi.BackendProvider;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;

/** Injected system-call failures on the poll backend (its binding and core's LibC wrapped). */
class PollFaultTest extends FaultContract {

    private static final PollLibrary REAL = LibraryLoader.create(PollLibrary.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    @Override
    protected BackendProvider provider(Faults faults) {
        return new PollProvider(faults.wrap(PollLibrary.class, REAL, Runtime.getRuntime(REAL)));
    }
}
