package io.polyplex.kqueue;

import io.polyplex.selector.PolyplexSelectorProvider;
import io.polyplex.selector.contract.SelectorSuite;
import java.io.IOException;
import java.nio.channels.Selector;

/**
 * The selector suite on the kqueue backend over a fresh {@link EmulatedKqueue} per selector, in one
 * flavour and layout (Linux only: the emulation stands on Linux's poll and epoll).
 */
abstract class EmulatedKernelSelectorSuite extends SelectorSuite {

    private final EmulatedKqueue.Flavour flavour;
    private final KeventLayout layout;

    EmulatedKernelSelectorSuite(EmulatedKqueue.Flavour flavour, KeventLayout layout) {
        this.flavour = flavour;
        this.layout = layout;
    }

    @Override
    protected Selector openSelector() throws IOException {
        EmulatedKqueue kernel = new EmulatedKqueue(layout, flavour);
        return PolyplexSelectorProvider.forBackend(new KqueueProvider(kernel, layout, kernel::lastError)).openSelector();
    }

    @Override
    protected boolean kernelIsJavaCode() {
        return true;
    }
}
