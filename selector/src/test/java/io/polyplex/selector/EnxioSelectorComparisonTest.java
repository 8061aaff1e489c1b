package io.polyplex.selector;

import io.polyplex.selector.contract.SelectorSuite;
import java.io.IOException;
import java.nio.channels.Selector;
import java.time.Duration;
import jnr.enxio.channels.NativeSelectorProvider;

class EnxioSelectorComparisonTest extends SelectorSuite {

    @Override
    protected Selector openSelector() throws IOException {
        return NativeSelectorProvider.getInstance().openSelector();
    }

    @Override
    protected Duration eventually() {
        return Duration.ofSeconds(3);
    }
}
