package io.polyplex.kqueue;

import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The selector suite over the emulated kernel: XNU's rules with macOS's 32-byte {@code struct kevent}. */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class EmulatedDarwinSelectorTest extends EmulatedKernelSelectorSuite {

    EmulatedDarwinSelectorTest() {
        super(EmulatedKqueue.Flavour.DARWIN, KeventLayout.KEVENT32);
    }
}
