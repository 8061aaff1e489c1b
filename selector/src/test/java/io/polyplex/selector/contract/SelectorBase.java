package io.polyplex.selector.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every scenario of {@link SelectorSuite} shares: one selector per test (opened through the
 * subclass's hook), real channels closed after the test, threads, and bounded waits. "Eventually"
 * waits use {@link #eventually()}; "never early" checks are exact.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class SelectorBase {

    /** The hook: a new selector of the implementation under test. */
    protected abstract Selector openSelector() throws IOException;

    /**
     * Upper bound for anything that must happen "promptly" or "eventually": generous, because the
     * machine may be a busy 2-core box. A selector that never does the thing fails after it.
     */
    protected Duration eventually() {
        return Duration.ofSeconds(20);
    }

    /**
     * Whether the kernel under the selector is emulated by Java test code (kqueue on Linux), whose
     * own allocations the allocation scenario would count; it then skips itself.
     */
    protected boolean kernelIsJavaCode() {
        return false;
    }

    /** A timeout short enough to keep the suite fast, long enough to tell a wait from a spin. */
    protected static final long SHORT_MS = 100;

    @TempDir
    protected Path dir;

    protected Selector selector;
    private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

    @BeforeEach
    void openTheSelector() throws IOException {
        selector = closeLater(openSelector());
    }

    @AfterEach
    void closeEverything() throws Exception {
        Exception first = null;
        while (!toClose.isEmpty()) {
            try {
                toClose.pop().close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                }
            }
        }
    }

    protected <T extends AutoCloseable> T closeLater(T c) {
        toClose.push(c);
        return c;
    }

    /** A listener of {@code kind}, closed after the test. */
    protected ChannelKind.Listener listen(ChannelKind kind) throws IOException {
        ChannelKind.Listener l = kind.listen(dir);
        closeLater(l.channel());
        return l;
    }

    /** A connected pair of {@code kind}, both non-blocking: [0] the accepted end ("ours"), [1] the client. */
    protected AbstractSelectableChannel[] pair(ChannelKind kind) throws IOException {
        ChannelKind.Listener l = kind.listen(dir);
        try {
            AbstractSelectableChannel client = closeLater(l.connect());
            AbstractSelectableChannel accepted = null;
            long deadline = System.nanoTime() + eventually().toNanos();
            while (accepted == null && System.nanoTime() < deadline) {
                accepted = l.accept();
                if (accepted == null) {
                    Thread.onSpinWait();
                }
            }
            assertTrue(accepted != null, "accept after connect");
            closeLater(accepted);
            return new AbstractSelectableChannel[] {accepted, client};
        } finally {
            l.channel().close();
        }
    }

    protected static int fdOf(AbstractSelectableChannel ch) {
        return ((jnr.enxio.channels.NativeSelectableChannel) ch).getFD();
    }

    /** Selects (blocking at most {@link #eventually()}) until {@code key} is selected with {@code ops}. */
    protected void awaitSelected(SelectionKey key, int ops) throws IOException {
        long deadline = System.nanoTime() + eventually().toNanos();
        while (System.nanoTime() < deadline) {
            selector.select(100);
            if (selector.selectedKeys().contains(key) && (key.readyOps() & ops) == ops) {
                return;
            }
        }
        fail("key never selected with ops 0x" + Integer.toHexString(ops) + " within " + eventually() + ": "
                + key + " ready 0x" + (key.isValid() ? Integer.toHexString(key.readyOps()) : "cancelled"));
    }

    /** Runs {@code body} on a new daemon thread, recording what it throws. */
    protected static Thread start(String name, ThrowingRunnable body, AtomicReference<Throwable> failure) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Waits until {@code t} is blocked in the kernel inside its selector (a native frame on top and a
     * {@code poll} frame below it, which both Polyplex's backends and jnr-enxio's PollSelector have),
     * failing after {@link #eventually()}.
     */
    protected void awaitBlockedInSelect(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + eventually().toNanos();
        while (System.nanoTime() < deadline) {
            assertTrue(t.isAlive(), t.getName() + " ended instead of blocking");
            StackTraceElement[] stack = t.getStackTrace();
            if (stack.length > 0 && stack[0].isNativeMethod()) {
                for (StackTraceElement f : stack) {
                    if (f.getMethodName().equals("poll") || f.getMethodName().equals("kevent")) {
                        return;
                    }
                }
            }
            Thread.sleep(5);
        }
        fail(t.getName() + " never blocked in select within " + eventually());
    }

    /** Joins {@code t} within {@link #eventually()}, failing if it is still running. */
    protected void assertEnds(Thread t, String what) throws InterruptedException {
        t.join(eventually().toMillis());
        assertTrue(!t.isAlive(), what + ": still running after " + eventually());
    }

    /** Rethrows what a helper thread recorded. */
    protected static void assertNoFailure(AtomicReference<Throwable> failure) {
        Throwable e = failure.get();
        if (e != null) {
            throw new AssertionError("a helper thread failed: " + e, e);
        }
    }

    /**
     * Runs a selection that a selector breaking the contract might never end (one without a timeout,
     * or with a timeout it does not check) on another thread, and fails if it has not returned
     * after {@link #eventually()}; what it throws is rethrown here.
     */
    protected int bounded(SelectCall call, String what) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger result = new java.util.concurrent.atomic.AtomicInteger(-1);
        Thread t = start(what, () -> result.set(call.call()), failure);
        assertEnds(t, what);
        Throwable e = failure.get();
        if (e instanceof Exception x) {
            throw x;
        }
        if (e instanceof Error x) {
            throw x;
        }
        return result.get();
    }

    /** Asserts that {@code body}, a selection that must wait out its timeout, did, and returned 0. */
    protected static void assertWaitsFull(long timeoutMs, SelectCall body, String what) throws IOException {
        long start = System.nanoTime();
        int n = body.call();
        long waited = System.nanoTime() - start;
        assertEquals(0, n, what + ": select returned keys");
        assertTrue(waited >= timeoutMs * 1_000_000L, what + ": returned after " + waited / 1_000_000 + " ms, before its "
                + timeoutMs + " ms timeout");
    }

    /** Milliseconds since {@code startNanos}. */
    protected static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** A selection call whose result is a count. */
    @FunctionalInterface
    protected interface SelectCall {
        int call() throws IOException;
    }

    @FunctionalInterface
    protected interface ThrowingRunnable {
        void run() throws Exception;
    }
}
