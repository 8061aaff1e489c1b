package io.polyplex.epoll;

import io.polyplex.conformance.FaultContract;
import io.polyplex.conformance.Faults;
import io.polyplex.spi.BackendProvider;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** Injected system-call failures on the epoll backend (its binding and core's LibC wrapped). */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll exists on Linux only")
class EpollFaultTest extends FaultContract {

    private static final EpollLibrary REAL = LibraryLoader.create(EpollLibrary.class)
            .load(Platform.getNativePlatform().getStandardCLibraryName());

    @Override
    protected BackendProvider provider(Faults faults) {
        return new EpollProvider(faults.wrap(EpollLibrary.class, REAL, Runtime.getRuntime(REAL)));
    }
}
