package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.inOrder;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.polyplex.Capability;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.NativeIOException;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.mockito.ArgumentCaptor;
import org.mockito.InOrder;

/**
 * Core's own logic, with the backend mocked only to inject what a real kernel will not do on demand
 * (EINTR, a failing control call) and to see exactly which calls core makes. Everything observable
 * through real sockets is in the conformance suite instead.
 */
@Timeout(60)
class PollerEventQueueTest {

    /** A caller's socket: just an fd. */
    record Sock(int fd) { }

    private Backend backend;
    private EventQueue<Sock> queue;

    @BeforeEach
    void open() throws Exception {
        openWith(EnumSet.of(Capability.KERNEL_PEER_CLOSED));
    }

    /** Replaces the queue and backend with ones whose provider announces {@code capabilities}. */
    private void openWith(EnumSet<Capability> capabilities) throws Exception {
        backend = mock(Backend.class);
        BackendProvider provider = mock(BackendProvider.class);
        when(provider.name()).thenReturn("mock");
        when(provider.unsupportedReason()).thenReturn(Optional.empty());
        when(provider.capabilities()).thenReturn(capabilities);
        when(provider.open(anyInt())).thenReturn(backend);
        queue = EventQueues.open(provider, Sock::fd);
    }

    private void openWithEveryTrigger() throws Exception {
        queue.close();
        openWith(EnumSet.of(Capability.KERNEL_PEER_CLOSED, Capability.EDGE_TRIGGERED, Capability.ONE_SHOT));
    }

    @Test
    void eintrIsRetriedWithTheTimeThatRemainsAndNeverReturnsEarly() throws Exception {
        List<Long> timeouts = new ArrayList<>();
        when(backend.poll(anyLong())).thenAnswer(inv -> {
            timeouts.add(inv.getArgument(0));
            Thread.sleep(20);
            return 0; // what a backend returns for EINTR
        });
        long start = System.nanoTime();
        assertEquals(0, queue.poll(Duration.ofMillis(200)).size());
        long waited = System.nanoTime() - start;
        assertTrue(waited >= 200_000_000L, "returned after " + waited + " ns");
        assertTrue(timeouts.size() >= 2, "not retried: " + timeouts);
        for (int i = 1; i < timeouts.size(); i++) {
            assertTrue(timeouts.get(i) < timeouts.get(i - 1), "the retry did not shrink the timeout: " + timeouts);
            assertTrue(timeouts.get(i) > 0);
        }
    }

    @Test
    void aFailedRegisterLeavesNothingRegistered() throws Exception {
        Sock s = new Sock(17);
        doThrow(NativeErrors.exception("mock_ctl(ADD", 17, NativeErrors.EBADF))
                .when(backend).register(eq(17), anyLong(), anyInt(), anyInt());
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribeRead(s));
        assertEquals("mock_ctl(ADD, fd=17): EBADF (Bad file descriptor)", e.getMessage());
        assertEquals("EBADF", e.errnoName());
        assertFalse(queue.isSubscribedRead(s));
        queue.remove(s); // nothing to remove: no call
        verify(backend, never()).deregister(eq(17), anyLong(), anyInt(), anyInt());
    }

    @Test
    void aFailedReregisterKeepsThePreviousState() throws Exception {
        Sock s = new Sock(5);
        queue.subscribeRead(s);
        doThrow(NativeErrors.exception("mock_ctl(MOD", 5, NativeErrors.ENOENT))
                .when(backend).reregister(eq(5), anyLong(), anyInt(), anyInt(), anyInt(), anyInt());
        assertThrows(NativeIOException.class, () -> queue.subscribeWrite(s));
        assertTrue(queue.isSubscribedRead(s));
        assertFalse(queue.isSubscribedWrite(s));
    }

    /** What core tells the backend it asked for before: trigger changes, and a fired native one-shot. */
    @Test
    void aReregisterCarriesThePreviousRegistration() throws Exception {
        openWithEveryTrigger();
        when(backend.poll(anyLong())).thenReturn(1);
        Sock s = new Sock(6);
        queue.subscribe(s, SocketEvent.READ, Trigger.EDGE);
        ArgumentCaptor<Long> token = ArgumentCaptor.forClass(Long.class);
        verify(backend).register(eq(6), token.capture(), eq(Backend.READ), eq(Backend.EDGE));
        queue.subscribe(s, SocketEvent.WRITE, Trigger.LEVEL); // the trigger is the socket's, not a direction's
        verify(backend).reregister(6, token.getValue(), Backend.READ | Backend.WRITE, Backend.LEVEL, Backend.READ, Backend.EDGE);
        queue.subscribe(s, SocketEvent.READ, Trigger.ONE_SHOT);
        verify(backend).reregister(6, token.getValue(), Backend.READ | Backend.WRITE, Backend.ONE_SHOT,
                Backend.READ | Backend.WRITE, Backend.LEVEL);
        // The one-shot fires: core disarms it, the kernel keeps it; re-arming says nothing was armed.
        when(backend.readyToken(0)).thenReturn(token.getValue());
        when(backend.readyOps(0)).thenReturn(Backend.READ);
        assertEquals(1, queue.poll(Duration.ZERO).size());
        queue.subscribeRead(s);
        verify(backend).reregister(6, token.getValue(), Backend.READ, Backend.ONE_SHOT, 0, Backend.ONE_SHOT);
    }

    /** A backend that could neither apply a change nor put the old one back removed the fd: so does core. */
    @Test
    void aLostRegistrationForgetsTheSocket() throws Exception {
        openWithEveryTrigger();
        Sock s = new Sock(8);
        queue.subscribeRead(s);
        io.polyplex.spi.RegistrationLostException lost = new io.polyplex.spi.RegistrationLostException(
                NativeErrors.exception("kevent(EV_ADD EVFILT_READ", 8, NativeErrors.EINVAL),
                NativeErrors.exception("kevent(EV_ADD EVFILT_READ", 8, NativeErrors.EINVAL));
        doThrow(lost).when(backend).reregister(eq(8), anyLong(), anyInt(), anyInt(), anyInt(), anyInt());
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribe(s, SocketEvent.READ, Trigger.EDGE));
        assertTrue(e.getMessage().startsWith("kevent(EV_ADD EVFILT_READ, fd=8): EINVAL (Invalid argument); "
                + "putting the previous registration back failed too"), e.getMessage());
        assertFalse(queue.isSubscribedRead(s), "core still believes the kernel watches the socket");
        queue.subscribeRead(s); // a fresh registration
        verify(backend, org.mockito.Mockito.times(2)).register(eq(8), anyLong(), eq(Backend.READ), eq(Backend.LEVEL));
    }

    @Test
    void disablingEverythingLeavesTheKernelSetAndSubscribingReturns() throws Exception {
        Sock s = new Sock(9);
        queue.subscribeReadWrite(s);
        queue.disableRead(s);
        queue.disableWrite(s);
        queue.subscribeWrite(s);
        InOrder order = inOrder(backend);
        ArgumentCaptor<Long> token = ArgumentCaptor.forClass(Long.class);
        order.verify(backend).register(eq(9), token.capture(), eq(Backend.READ | Backend.WRITE), eq(Backend.LEVEL));
        order.verify(backend).reregister(9, token.getValue(), Backend.WRITE, Backend.LEVEL, Backend.READ | Backend.WRITE, Backend.LEVEL);
        order.verify(backend).deregister(eq(9), eq(token.getValue()), eq(Backend.WRITE), eq(Backend.LEVEL));
        order.verify(backend).register(eq(9), anyLong(), eq(Backend.WRITE), eq(Backend.LEVEL));
    }

    @Test
    void repeatingASubscriptionMakesNoSystemCall() throws Exception {
        Sock s = new Sock(3);
        queue.subscribeRead(s);
        queue.subscribeRead(s);
        queue.subscribeRead(s);
        verify(backend).register(eq(3), anyLong(), eq(Backend.READ), eq(Backend.LEVEL));
        verify(backend, never()).reregister(anyInt(), anyLong(), anyInt(), anyInt(), anyInt(), anyInt());
    }

    @Test
    void edgeIsRefusedWithoutTheCapabilityAndOneShotIsEmulated() throws Exception {
        Sock s = new Sock(4);
        assertThrows(UnsupportedOperationException.class, () -> queue.subscribe(s, SocketEvent.READ, Trigger.EDGE));
        assertFalse(queue.isSubscribedRead(s));
        queue.subscribe(s, SocketEvent.READ, Trigger.ONE_SHOT);
        ArgumentCaptor<Long> token = ArgumentCaptor.forClass(Long.class);
        // Emulated: the kernel sees a level registration.
        verify(backend).register(eq(4), token.capture(), eq(Backend.READ), eq(Backend.LEVEL));
        when(backend.poll(anyLong())).thenReturn(1);
        when(backend.readyToken(0)).thenReturn(token.getValue());
        when(backend.readyOps(0)).thenReturn(Backend.READ);
        List<Sock> got = new ArrayList<>();
        assertEquals(1, queue.poll(Duration.ZERO, (x, ops) -> got.add(x)));
        assertSame(s, got.get(0));
        assertTrue(queue.isDisabledRead(s));
        verify(backend).deregister(eq(4), eq(token.getValue()), eq(Backend.READ), eq(Backend.LEVEL)); // disarmed by leaving the kernel set
    }

    @Test
    void staleAndMaskedEventsAreDropped() throws Exception {
        Sock s = new Sock(6);
        queue.subscribeRead(s);
        ArgumentCaptor<Long> token = ArgumentCaptor.forClass(Long.class);
        verify(backend).register(eq(6), token.capture(), anyInt(), anyInt());
        when(backend.poll(anyLong())).thenReturn(3);
        when(backend.readyToken(0)).thenReturn(token.getValue() + (1L << 32)); // another generation
        when(backend.readyOps(0)).thenReturn(Backend.READ);
        when(backend.readyToken(1)).thenReturn(token.getValue());
        when(backend.readyOps(1)).thenReturn(Backend.WRITE); // not subscribed: masked away
        when(backend.readyToken(2)).thenReturn(token.getValue());
        when(backend.readyOps(2)).thenReturn(Backend.READ | Backend.PEER_CLOSED);
        List<Integer> ops = new ArrayList<>();
        assertEquals(1, queue.poll(Duration.ZERO, (x, o) -> ops.add(o)));
        assertEquals(List.of(SocketEvent.READ | SocketEvent.PEER_CLOSED), ops);
    }

    @Test
    void anInvalidFdIsReportedOnceAsAnErrorAndForgotten() throws Exception {
        Sock s = new Sock(8);
        queue.subscribeRead(s);
        ArgumentCaptor<Long> token = ArgumentCaptor.forClass(Long.class);
        verify(backend).register(eq(8), token.capture(), anyInt(), anyInt());
        when(backend.poll(anyLong())).thenReturn(1);
        when(backend.readyToken(0)).thenReturn(token.getValue());
        when(backend.readyOps(0)).thenReturn(Backend.INVALID);
        List<Integer> ops = new ArrayList<>();
        assertEquals(1, queue.poll(Duration.ZERO, (x, o) -> ops.add(o)));
        assertEquals(List.of(SocketEvent.READ | SocketEvent.ERROR), ops);
        assertFalse(queue.isSubscribedRead(s));
        verify(backend).deregister(eq(8), anyLong(), anyInt(), anyInt());
        assertEquals(0, queue.poll(Duration.ZERO, (x, o) -> ops.add(o)), "reported twice");
    }

    @Test
    void closeReleasesTheBackendOnce() throws Exception {
        queue.close();
        queue.close();
        verify(backend).close();
    }
}
