package io.polyplex.selector;

import io.polyplex.selector.contract.ChannelKind;
import io.polyplex.selector.contract.SelectorSuite;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import jnr.enxio.channels.NativeSelectorProvider;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;

/**
 * The same scenarios against jnr-enxio's own selector ({@code NativeSelectorProvider}: its
 * PollSelector on Linux), recording where it departs from the Selector contract. Every scenario
 * listed in {@link #EXPECTED_FAILURES} must fail, every other one must pass: when jnr-enxio changes,
 * this test says which entry to move, so the list (and its copy in the README, which {@code
 * ReadmeComparisonTest} keeps identical) stays true.
 *
 * <p>Linux only: on the BSDs and macOS jnr-enxio's provider opens its KQSelector instead, whose
 * departures differ.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "jnr-enxio's provider opens its PollSelector on Linux; the list is its")
@ExtendWith(EnxioSelectorComparisonTest.ExpectedFailures.class)
class EnxioSelectorComparisonTest extends SelectorSuite {

    /**
     * Scenario (with its channel kind, for those that run per kind) to what jnr-enxio's PollSelector
     * does instead, where that departs from the Selector contract as the JDK documents it. The
     * README's first table is made of these lines.
     */
    static final Map<String, String> CONTRACT_DEPARTURES = new TreeMap<>(Map.ofEntries(
            Map.entry("readySetAccumulatesWhileSelected[TCP]",
                    "a key already in the selected-key set is counted again by every select that finds it ready"),
            Map.entry("readySetAccumulatesWhileSelected[UNIX]",
                    "a key already in the selected-key set is counted again by every select that finds it ready"),
            Map.entry("hangUpWithNoInterestDoesNotWakeSelect[UNIX]",
                    "a hung-up AF_UNIX socket whose key has no interest is selected, at once, by every select"),
            Map.entry("connectionIsReported[UNIX]",
                    "a connected channel interested in OP_CONNECT and OP_WRITE is reported ready for both"),
            Map.entry("keySetsAreModifiableOnlyAsSpecified", "keys() can be modified"),
            Map.entry("interestOpsOrAndAndValidation", "interestOps accepts operations the channel does not support"),
            Map.entry("foreignChannelIsRefused",
                    "registering a JDK channel throws ClassCastException instead of IllegalSelectorException"),
            Map.entry("reRegisteringACancelledKeyBeforeSelectingThrows",
                    "a cancelled key can be registered again before it is flushed"),
            Map.entry("cancelledKeyRefusesOperations", "a cancelled key still answers interestOps and readyOps"),
            Map.entry("cancelDuringSelect",
                    "a key cancelled during a select is still in the key set after that select"),
            Map.entry("keyCancelledDuringABlockedSelectIsNotSelected",
                    "a key cancelled during a select is selected and counted when its channel becomes ready"),
            Map.entry("closingAChannelDuringSelect[TCP]",
                    "a channel closed during a select is counted as selected (its fd reported invalid)"),
            Map.entry("closingAChannelDuringSelect[UNIX]",
                    "a channel closed during a select is counted as selected (its fd reported invalid)"),
            Map.entry("reusedFdDuringSelectIsNeverReportedThroughTheOldKey[TCP]",
                    "a closed channel's key is selected for the socket that reused its fd number"),
            Map.entry("reusedFdDuringSelectIsNeverReportedThroughTheOldKey[UNIX]",
                    "a closed channel's key is selected for the socket that reused its fd number"),
            Map.entry("aWakeupBeforeSelectIsKeptWhenOnlyADeadKeysEventComesWithIt",
                    "a closing channel's key (fd closed, key not yet cancelled) is counted as selected"),
            Map.entry("reusedFdBeforeTheKeyIsCancelledIsNeverReported",
                    "a closing channel's key is selected for the socket that reused its fd number"),
            Map.entry("wakeupsCoalesce", "each of several wakeups wakes a select of its own"),
            Map.entry("wakeupAfterCloseIsHarmless",
                    "wakeup after close writes a byte into whatever reused the selector's pipe fd"),
            Map.entry("closedSelectorRefusesOperations",
                    "a closed selector still selects and registers: no ClosedSelectorException"),
            Map.entry("closeRacesEveryOperation", "a channel registered during or after close gets a valid key"),
            Map.entry("timeoutsAreKept", "select(-1) blocks for ever instead of refusing the negative timeout")));

    /**
     * Scenarios that ask for more than the contract, which jnr-enxio does not do (nor, for the first,
     * the JDK): the README's second table.
     */
    static final Map<String, String> BEYOND_THE_CONTRACT = new TreeMap<>(Map.ofEntries(
            Map.entry("interestChangeReachesABlockedSelect[TCP]",
                    "an interest change waits for the next select (so does the JDK's)"),
            Map.entry("interestChangeReachesABlockedSelect[UNIX]",
                    "an interest change waits for the next select (so does the JDK's)"),
            Map.entry("aRefusedRegistrationIsThrownByTheNextSelectOnce",
                    "registering an fd that is not open is never reported as an error"),
            Map.entry("selectionsAllocateNothingInSteadyState",
                    "every select allocates (over 1 KB for 20 ready keys)")));

    /** Every scenario jnr-enxio fails: each must fail, every other must pass. */
    static final Map<String, String> EXPECTED_FAILURES = new TreeMap<>();

    static {
        EXPECTED_FAILURES.putAll(CONTRACT_DEPARTURES);
        EXPECTED_FAILURES.putAll(BEYOND_THE_CONTRACT);
    }

    @Override
    protected Selector openSelector() throws IOException {
        return NativeSelectorProvider.getInstance().openSelector();
    }

    /**
     * Short: a scenario jnr-enxio passes does so in milliseconds; the bound only decides how long a
     * selection that never returns is waited for before it is recorded as failed.
     */
    @Override
    protected Duration eventually() {
        return Duration.ofSeconds(2);
    }

    /** The scenario's name as the list writes it: the method, and the channel kind if it has one. */
    static String scenario(Method method, List<Object> arguments) {
        String kinds = arguments.stream().filter(a -> a instanceof ChannelKind).map(Object::toString)
                .collect(Collectors.joining(","));
        return method.getName() + (kinds.isEmpty() ? "" : "[" + kinds + "]");
    }

    /** Inverts the listed scenarios: each must fail (its failure is the expected result) and the rest pass. */
    static final class ExpectedFailures implements InvocationInterceptor {

        @Override
        public void interceptTestMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> call,
                                        ExtensionContext context) throws Throwable {
            run(invocation, call);
        }

        @Override
        public void interceptTestTemplateMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> call,
                                                ExtensionContext context) throws Throwable {
            run(invocation, call);
        }

        private static void run(Invocation<Void> invocation, ReflectiveInvocationContext<Method> call) throws Throwable {
            String name = scenario(call.getExecutable(), call.getArguments());
            String departure = EXPECTED_FAILURES.get(name);
            if (departure == null) {
                invocation.proceed();
                return;
            }
            try {
                invocation.proceed();
            } catch (Throwable expected) {
                return; // fails, as recorded
            }
            throw new AssertionError("jnr-enxio now passes " + name + ", recorded as failing (" + departure
                    + "): take it out of EXPECTED_FAILURES and the README's table");
        }
    }
}
