package io.polyplex.kqueue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;

/** The conformance suite on the kqueue backend, through the emulated kernel, 64-byte struct kevent. */
class Kqueue64EmulatedConformanceTest extends ConformanceSuite {

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        EmulatedKqueue kernel = new EmulatedKqueue(KeventLayout.KEVENT64);
        return EventQueues.open(new KqueueProvider(kernel, KeventLayout.KEVENT64, kernel::lastError), fdOf);
    }

    @Override
    protected boolean kernelIsJavaCode() {
        return true;
    }
}
