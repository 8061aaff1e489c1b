package io.polyplex.select;

import io.polyplex.conformance.FaultContract;
import io.polyplex.conformance.Faults;
import io.polyplex.spi.BackendProvider;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;

/** Injected system-call failures on the select backend (its binding and core's LibC wrapped). */
class SelectFaultTest extends FaultContract {

    private static final SelectLibrary REAL = LibraryLoader.create(SelectLibrary.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    @Override
    protected BackendProvider provider(Faults faults) {
        return new SelectProvider(faults.wrap(SelectLibrary.class, REAL, Runtime.getRuntime(REAL)));
    }
}
