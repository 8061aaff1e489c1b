package io.polyplex.selector;

import io.polyplex.selector.contract.SelectorSuite;
import java.io.IOException;
import java.nio.channels.Selector;

/** The selector contract on the poll backend, on every POSIX system (a refusal fails every scenario). */
class PollSelectorTest extends SelectorSuite {

    @Override
    protected Selector openSelector() throws IOException {
        return PolyplexSelectorProvider.forBackend("poll").openSelector();
    }
}
