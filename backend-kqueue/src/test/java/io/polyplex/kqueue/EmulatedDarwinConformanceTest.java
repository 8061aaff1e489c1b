package io.polyplex.kqueue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The conformance suite on the kqueue backend over the emulated kernel in XNU's flavour, with macOS's
 * 32-byte {@code struct kevent}.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class EmulatedDarwinConformanceTest extends ConformanceSuite {

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        EmulatedKqueue kernel = new EmulatedKqueue(KeventLayout.KEVENT32, EmulatedKqueue.Flavour.DARWIN);
        return EventQueues.open(new KqueueProvider(kernel, KeventLayout.KEVENT32, kernel::lastError), fdOf);
    }

    @Override
    protected boolean kernelIsJavaCode() {
        return true;
    }
}
