package io.polyplex.kqueue;

import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The conformance suite over the emulated kernel: FreeBSD's rules with FreeBSD 12's 64-byte {@code struct kevent}. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class EmulatedFreeBsdConformanceTest extends EmulatedKernelSuite {

    EmulatedFreeBsdConformanceTest() {
        super(EmulatedKqueue.Flavour.FREEBSD, KeventLayout.KEVENT64);
    }
}
