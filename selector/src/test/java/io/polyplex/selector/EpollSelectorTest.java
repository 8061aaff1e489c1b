package io.polyplex.selector;

import io.polyplex.selector.contract.SelectorSuite;
import java.io.IOException;
import java.nio.channels.Selector;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The selector contract on the epoll backend, on Linux, where it must open (a refusal fails every scenario). */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll exists on Linux only")
class EpollSelectorTest extends SelectorSuite {

    @Override
    protected Selector openSelector() throws IOException {
        return PolyplexSelectorProvider.forBackend("epoll").openSelector();
    }
}
