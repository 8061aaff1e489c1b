package io.polyplex.kqueue;

import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The conformance suite over the emulated kernel: FreeBSD's rules with the 32-byte {@code struct
 * kevent}, as a FreeBSD 11 libc takes it (a jail with an old userland on a newer kernel); also the
 * layout of OpenBSD and DragonFly, whose rules are FreeBSD's where XNU's differ (EV_DELETE of a
 * closed fd is EBADF there too).
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class EmulatedFreeBsd32ConformanceTest extends EmulatedKernelSuite {

    EmulatedFreeBsd32ConformanceTest() {
        super(EmulatedKqueue.Flavour.FREEBSD, KeventLayout.KEVENT32);
    }
}
