package io.polyplex.testing;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints one line for each test or container that did not run, with the reason, as it happens:
 * surefire's console only counts them ("Skipped: 2"), and their reasons (a condition that disabled
 * them, an assumption that failed) are otherwise only in its XML reports. A skipped container is
 * one line, whatever it holds. For example:
 *
 * <pre>
 * Skipped: KqueueConformanceTest: kqueue exists on macOS and the BSDs only
 * </pre>
 *
 * <p>Registered in {@code META-INF/services}, so the JUnit Platform launcher loads it in every
 * module whose tests have core's test-jar on their class path (all of them; core's own tests see
 * it in their output directory).
 */
public final class SkipReasons implements TestExecutionListener {

    private volatile TestPlan plan;

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    /** Disabled: by a condition (an OS, a system property) or {@code @Disabled}. */
    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        report(test, reason);
    }

    /** Aborted: an assumption failed. */
    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            report(test, result.getThrowable().map(Throwable::getMessage).orElse(null));
        }
    }

    private void report(TestIdentifier test, String reason) {
        String why = reason == null || reason.isBlank() ? "no reason given"
                : reason.replaceFirst("^Assumption failed: ", "");
        System.out.println("Skipped: " + path(test) + ": " + why);
    }

    /** The display names from the test class down to {@code test}, without the engine's. */
    private String path(TestIdentifier test) {
        TestPlan p = plan;
        if (p == null) {
            return test.getDisplayName();
        }
        Deque<String> names = new ArrayDeque<>();
        for (TestIdentifier at = test; ; ) {
            Optional<TestIdentifier> parent = p.getParent(at);
            if (parent.isEmpty()) {
                break; // at is the engine ("JUnit Jupiter")
            }
            names.addFirst(at.getDisplayName());
            at = parent.get();
        }
        return String.join(" > ", names);
    }
}
