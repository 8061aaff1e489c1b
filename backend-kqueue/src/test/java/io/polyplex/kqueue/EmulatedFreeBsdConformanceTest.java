package io.polyplex.kqueue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The conformance suite on the kqueue backend over the emulated kernel in FreeBSD's flavour, with
 * FreeBSD 12's 64-byte {@code struct kevent}.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class EmulatedFreeBsdConformanceTest extends ConformanceSuite {

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        EmulatedKqueue kernel = new EmulatedKqueue(KeventLayout.KEVENT64, EmulatedKqueue.Flavour.FREEBSD);
        return EventQueues.open(new KqueueProvider(kernel, KeventLayout.KEVENT64, kernel::lastError), fdOf);
    }

    @Override
    protected boolean kernelIsJavaCode() {
        return true;
    }
}
