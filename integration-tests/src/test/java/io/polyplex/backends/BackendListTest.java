package io.polyplex.backends;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.Capability;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import org.junit.jupiter.api.Test;

/**
 * {@link EventQueues#backends()} and the queues themselves give one answer about what a backend
 * offers: a queue's {@code capabilities()} is what the list says, ONE_SHOT (emulated in core where
 * the kernel lacks it) included.
 */
class BackendListTest {

    @Test
    void theListAndEveryQueueAgreeOnCapabilities() throws Exception {
        int checked = 0;
        for (BackendInfo info : EventQueues.backends()) {
            assertTrue(info.capabilities().contains(Capability.ONE_SHOT), info.toString());
            if (!info.supported()) {
                continue;
            }
            try (EventQueue<Integer> q = EventQueues.open(info.name(), Integer::intValue)) {
                assertEquals(q.capabilities(), info.capabilities(), info.name());
            }
            checked++;
        }
        assertTrue(checked >= 3, "epoll, poll and select run on Linux: checked " + checked);
    }
}
