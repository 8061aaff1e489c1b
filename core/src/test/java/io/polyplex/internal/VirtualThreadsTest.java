package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Virtual threads are found exactly where the JDK has them (21 and later): a lookup that failed
 * quietly would turn every virtual-thread run (pollers, callers) into a platform one, and the tests
 * that adapt to {@link VirtualThreads#available()} would pass on the weaker path.
 */
class VirtualThreadsTest {

    @Test
    void availableExactlyFromJdk21() {
        assertEquals(Runtime.version().feature() >= 21, VirtualThreads.available(), "on JDK " + Runtime.version());
    }

    @Test
    void anUnstartedThreadIsVirtualNamedAndRunsItsTask() throws Exception {
        if (!VirtualThreads.available()) {
            assertThrows(UnsupportedOperationException.class, () -> VirtualThreads.unstarted("v", () -> { }));
            return;
        }
        AtomicBoolean ran = new AtomicBoolean();
        Thread t = VirtualThreads.unstarted("polyplex-test-virtual", () -> ran.set(true));
        assertEquals("polyplex-test-virtual", t.getName());
        assertEquals(Boolean.TRUE, Thread.class.getMethod("isVirtual").invoke(t), "a virtual thread");
        t.start();
        t.join(20_000);
        assertTrue(ran.get(), "the task did not run");
    }
}
