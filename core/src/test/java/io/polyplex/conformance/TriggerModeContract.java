package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.polyplex.Capability;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Trigger modes. Where {@code capabilities()} announces {@link Capability#EDGE_TRIGGERED}: an edge
 * subscription reports an arrival once, not again while unread, and again on the next arrival;
 * {@code subscribeRead} keeps the socket's mode and {@code subscribe(..., trigger)} replaces it for
 * the whole socket. Where it announces {@link Capability#ONE_SHOT}: one event, then every
 * subscribed direction is disabled (isDisabled* true, no more events) until re-subscribed, and one
 * readiness goes to exactly one of several pollers. Where a capability is missing, subscribing
 * with its trigger throws UnsupportedOperationException and registers nothing.
 */
public abstract class TriggerModeContract extends ContractBase {

    private void assertRefused(Trigger trigger) throws Exception {
        NativeSocketChannel[] p = pair();
        assertThrows(UnsupportedOperationException.class, () -> queue.subscribe(p[0], SocketEvent.READ, trigger));
        assertFalse(queue.isSubscribedRead(p[0]), "refused, yet registered");
        write(p[1], "x");
        assertEquals(0, opsNow(p[0]), "refused, yet reported");
        // A known socket keeps its level subscription when the mode change is refused.
        queue.subscribeRead(p[0]);
        assertThrows(UnsupportedOperationException.class, () -> queue.subscribe(p[0], SocketEvent.WRITE, trigger));
        assertTrue(queue.isSubscribedRead(p[0]) && !queue.isSubscribedWrite(p[0]));
        awaitEvent(p[0], SocketEvent.READ);
        awaitEvent(p[0], SocketEvent.READ); // still level-triggered
    }

    @Test
    void edgeTriggeredReportsEachArrivalOnceOrIsRefused() throws Exception {
        if (!queue.capabilities().contains(Capability.EDGE_TRIGGERED)) {
            assertRefused(Trigger.EDGE);
            return;
        }
        NativeSocketChannel[] p = pair();
        queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE);
        assertTrue(queue.isSubscribedRead(p[0]) && !queue.isDisabledRead(p[0]));
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
    void aTriggerAppliesToTheWholeSocket() throws Exception {
        assumeTrue(queue.capabilities().contains(Capability.EDGE_TRIGGERED), "no edge-triggered mode here");
        NativeSocketChannel[] p = pair();
        queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, opsNow(p[0]), "edge reported twice");
        // Subscribing write as LEVEL makes the whole socket level: the unread data is reported again.
        queue.subscribe(p[0], SocketEvent.WRITE, Trigger.LEVEL);
        awaitEvent(p[0], SocketEvent.READ | SocketEvent.WRITE);
        awaitEvent(p[0], SocketEvent.READ | SocketEvent.WRITE);
        // And back to edge for both: reported once (read and write ready at once), then quiet.
        queue.subscribe(p[0], SocketEvent.READ | SocketEvent.WRITE, Trigger.EDGE);
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "edge for both reported again");
    }

    /**
     * Level to one-shot on a socket that stays readable: one event, then nothing, and the wait that
     * follows sleeps rather than spins (a kernel that kept the level registration would report the
     * disarmed socket on every wait, and core would drop each report and wait again at once).
     */
    @Test
    void levelToOneShotOnALiveSocketDeliversOnceAndDoesNotSpin() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        awaitEvent(p[0], SocketEvent.READ); // level: again
        queue.subscribe(p[0], SocketEvent.READ, Trigger.ONE_SHOT);
        awaitEvent(p[0], SocketEvent.READ);
        assertTrue(queue.isDisabledRead(p[0]), "one-shot not disarmed");
        long wall = System.nanoTime();
        long cpu = cpuNanos();
        assertEquals(0, queue.poll(Duration.ofMillis(500)).size(), "a disarmed one-shot was reported again");
        assertNoSpin(cpuNanos() - cpu, System.nanoTime() - wall, "waiting with a disarmed one-shot");
    }

    /** Edge to level on a socket with unread data: the data is reported again, and again. */
    @Test
    void edgeToLevelOnALiveSocketReportsTheUnreadDataAgain() throws Exception {
        assumeTrue(queue.capabilities().contains(Capability.EDGE_TRIGGERED), "no edge-triggered mode here");
        NativeSocketChannel[] p = pair();
        queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "edge reported twice");
        queue.subscribe(p[0], SocketEvent.READ, Trigger.LEVEL);
        awaitEvent(p[0], SocketEvent.READ);
        awaitEvent(p[0], SocketEvent.READ);
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals("x", readNow(p[0]));
    }

    /** Level to edge on a socket with unread data: at most one more report, then quiet. */
    @Test
    void levelToEdgeOnALiveSocketStopsRepeating() throws Exception {
        assumeTrue(queue.capabilities().contains(Capability.EDGE_TRIGGERED), "no edge-triggered mode here");
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        awaitEvent(p[0], SocketEvent.READ);
        queue.subscribe(p[0], SocketEvent.READ, Trigger.EDGE);
        int reports = 0;
        for (int i = 0; i < 5; i++) {
            reports += queue.poll(Duration.ofMillis(100)).size();
        }
        assertTrue(reports <= 1, reports + " reports of one arrival after the switch to edge");
        write(p[1], "y"); // a new arrival is reported once
        awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "edge reported twice");
        assertEquals("xy", readNow(p[0]));
    }

    @Test
    void oneShotDeliversOnceThenDisablesUntilResubscribed() throws Exception {
        if (!queue.capabilities().contains(Capability.ONE_SHOT)) {
            assertRefused(Trigger.ONE_SHOT);
            return;
        }
        NativeSocketChannel[] p = pair();
        queue.subscribe(p[0], SocketEvent.READ, Trigger.ONE_SHOT);
        assertFalse(queue.isDisabledRead(p[0]));
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
        assertTrue(queue.isSubscribedRead(p[0]) && queue.isDisabledRead(p[0]), "one-shot not disabled after delivery");
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "one-shot delivered twice");
        queue.subscribeRead(p[0]); // re-arm; the data is still unread
        assertFalse(queue.isDisabledRead(p[0]));
        awaitEvent(p[0], SocketEvent.READ);
        assertTrue(queue.isDisabledRead(p[0]), "subscribeRead did not keep the one-shot mode");
        assertEquals(0, queue.poll(Duration.ofMillis(100)).size(), "re-armed one-shot delivered twice");
        queue.subscribe(p[0], SocketEvent.READ, Trigger.LEVEL); // back to level
        awaitEvent(p[0], SocketEvent.READ);
        awaitEvent(p[0], SocketEvent.READ);
        assertFalse(queue.isDisabledRead(p[0]));
    }

    /** After a one-shot event, every subscribed direction is disabled, not only the one that fired. */
    @Test
    void oneShotDisablesEverySubscribedDirection() throws Exception {
        assumeTrue(queue.capabilities().contains(Capability.ONE_SHOT), "no one-shot mode here");
        NativeSocketChannel[] p = pair();
        queue.subscribe(p[0], SocketEvent.READ | SocketEvent.WRITE, Trigger.ONE_SHOT);
        int ops = awaitEvent(p[0], SocketEvent.WRITE); // writable at once; nothing to read yet
        assertEquals(0, ops & SocketEvent.READ);
        assertTrue(queue.isDisabledRead(p[0]) && queue.isDisabledWrite(p[0]),
                "one-shot left a direction enabled after delivery");
        write(p[1], "x");
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size(), "a disarmed one-shot reported READ");
        queue.subscribeRead(p[0]); // re-arms read only
        assertTrue(queue.isDisabledWrite(p[0]) && !queue.isDisabledRead(p[0]));
        ops = awaitEvent(p[0], SocketEvent.READ);
        assertEquals(0, ops & SocketEvent.WRITE, "WRITE reported while disabled");
    }

    @Test
    void oneShotGoesToExactlyOneOfSeveralPollers() throws Exception {
        assumeTrue(queue.capabilities().contains(Capability.ONE_SHOT), "no one-shot mode here");
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
