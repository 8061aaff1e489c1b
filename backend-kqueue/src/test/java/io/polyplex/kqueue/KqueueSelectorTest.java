package io.polyplex.kqueue;

import io.polyplex.selector.PolyplexSelectorProvider;
import io.polyplex.selector.contract.SelectorSuite;
import java.io.IOException;
import java.nio.channels.Selector;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The selector suite (polyplex-selector's test-jar) on the real kqueue, wherever kqueue exists
 * (macOS and the BSDs: the workflow's macOS and FreeBSD legs); there the backend must open. It runs
 * here, beside the kqueue conformance runs, rather than in the selector module, because the emulated
 * runs need this module's test code and the selector module cannot depend on this one's tests
 * without a cycle.
 */
@EnabledIf(value = "io.polyplex.kqueue.KqueueConformanceTest#kqueueExistsHere",
        disabledReason = "kqueue exists on macOS and the BSDs only")
class KqueueSelectorTest extends SelectorSuite {

    @Override
    protected Selector openSelector() throws IOException {
        return PolyplexSelectorProvider.forBackend("kqueue").openSelector();
    }
}
