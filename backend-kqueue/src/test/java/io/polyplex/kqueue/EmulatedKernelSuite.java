package io.polyplex.kqueue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;

/**
 * The conformance suite on the kqueue backend over a fresh {@link EmulatedKqueue} per queue, in one
 * flavour and layout. The subclasses are the kernels the backend meets (Linux only: the emulation
 * stands on Linux's poll and epoll).
 */
abstract class EmulatedKernelSuite extends ConformanceSuite {

    private final EmulatedKqueue.Flavour flavour;
    private final KeventLayout layout;

    EmulatedKernelSuite(EmulatedKqueue.Flavour flavour, KeventLayout layout) {
        this.flavour = flavour;
        this.layout = layout;
    }

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        EmulatedKqueue kernel = new EmulatedKqueue(layout, flavour);
        return EventQueues.open(new KqueueProvider(kernel, layout, kernel::lastError), fdOf);
    }

    @Override
    protected boolean kernelIsJavaCode() {
        return true;
    }
}
