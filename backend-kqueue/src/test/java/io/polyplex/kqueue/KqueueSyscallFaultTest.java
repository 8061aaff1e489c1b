package io.polyplex.kqueue;

import io.polyplex.conformance.FaultContract;
import io.polyplex.conformance.Faults;
import io.polyplex.spi.BackendProvider;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Whole system calls that fail (kqueue, fcntl, a change-only kevent, a waiting kevent, and core's
 * self-pipe and libc calls), on the kqueue backend over the emulated kernel in each flavour and
 * layout: {@link FaultContract}, the contract every backend meets. A change refused inside a
 * changelist (an EV_ERROR receipt) is {@link KqueueFaultTest}'s.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class KqueueSyscallFaultTest {

    private static BackendProvider over(Faults faults, EmulatedKqueue.Flavour flavour, KeventLayout layout) {
        EmulatedKqueue kernel = new EmulatedKqueue(layout, flavour);
        KqueueLibrary failing = faults.wrap(KqueueLibrary.class, kernel, kernel::setLastError);
        return new KqueueProvider(failing, layout, kernel::lastError);
    }

    /** XNU's rules, macOS's 32-byte {@code struct kevent}. */
    @Nested
    class Darwin extends FaultContract {
        @Override
        protected BackendProvider provider(Faults faults) {
            return over(faults, EmulatedKqueue.Flavour.DARWIN, KeventLayout.KEVENT32);
        }
    }

    /** FreeBSD 12+: the 64-byte {@code struct kevent}. */
    @Nested
    class FreeBsd extends FaultContract {
        @Override
        protected BackendProvider provider(Faults faults) {
            return over(faults, EmulatedKqueue.Flavour.FREEBSD, KeventLayout.KEVENT64);
        }
    }

    /** FreeBSD 11, OpenBSD, DragonFly: the 32-byte {@code struct kevent}. */
    @Nested
    class FreeBsd32 extends FaultContract {
        @Override
        protected BackendProvider provider(Faults faults) {
            return over(faults, EmulatedKqueue.Flavour.FREEBSD, KeventLayout.KEVENT32);
        }
    }
}
