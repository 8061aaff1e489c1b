package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.Capability;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Edge-triggered and one-shot registration: what each promises where {@code capabilities()}
 * announces it, and a clear UnsupportedOperationException (nothing registered) where it does not.
 */
public abstract class TriggerModeContract extends ContractBase {

    @Test
    void edgeTriggeredReportsEachArrivalOnceOrIsRefused() throws Exception {
        NativeSocketChannel[] p = pair();
        if (!queue.capabilities().contains(Capability.EDGE_TRIGGERED)) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE));
            assertTrue(e.getMessage().contains(queue.backend()), e.getMessage());
            assertFalse(queue.isSubscribedRead(p[0]), "refused, yet registered");
            return;
        }
        queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE);
        write(p[1], "one");
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "edge reported again with no new data");
        write(p[1], "two");
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals("onetwo", readNow(p[0]));
        // Subscribing read (level API) keeps the socket's mode.
        queue.subscribeRead(p[0]);
        write(p[1], "three");
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "mode changed to level by subscribeRead");
    }

    @Test
    void oneShotDeliversOnceThenDisablesUntilResubscribed() throws Exception {
        assertTrue(queue.capabilities().contains(Capability.ONE_SHOT), "core emulates one-shot everywhere");
        NativeSocketChannel[] p = pair();
        queue.subscribe(p[0], SocketEvent.READ, Trigger.ONE_SHOT);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        assertTrue(queue.isSubscribedRead(p[0]) && queue.isDisabledRead(p[0]), "one-shot not disabled after delivery");
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "one-shot delivered twice");
        queue.subscribeRead(p[0]); // re-arm; the data is still unread
        awaitEvent(p[0], SocketEvent.READ);
        assertTrue(queue.isDisabledRead(p[0]));
        queue.subscribe(p[0], SocketEvent.READ, Trigger.LEVEL); // back to level
        awaitEvent(p[0], SocketEvent.READ);
        awaitEvent(p[0], SocketEvent.READ);
        assertFalse(queue.isDisabledRead(p[0]));
    }

    @Test
    void oneShotGoesToExactlyOneOfSeveralPollers() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribe(p[0], SocketEvent.READ, Trigger.ONE_SHOT);
        write(p[1], "x");
        AtomicInteger delivered = new AtomicInteger();
        Thread[] pollers = new Thread[3];
        for (int i = 0; i < pollers.length; i++) {
            pollers[i] = new Thread(() -> {
                try {
                    for (int j = 0; j < 5; j++) {
                        delivered.addAndGet(queue.poll(Duration.ofMillis(100), (s, ops) -> { }));
                    }
                } catch (Exception e) {
                    delivered.set(-1000);
                }
            });
            pollers[i].start();
        }
        for (Thread t : pollers) {
            t.join(EVENTUALLY.toMillis());
            assertFalse(t.isAlive());
        }
        assertEquals(1, delivered.get());
    }
}
