package io.polyplex.kqueue;

import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The selector suite over the emulated kernel: FreeBSD's rules with its 64-byte {@code struct kevent} (12+). */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class EmulatedFreeBsdSelectorTest extends EmulatedKernelSelectorSuite {

    EmulatedFreeBsdSelectorTest() {
        super(EmulatedKqueue.Flavour.FREEBSD, KeventLayout.KEVENT64);
    }
}
