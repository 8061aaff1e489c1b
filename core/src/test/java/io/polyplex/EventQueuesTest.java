package io.polyplex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.polyplex.spi.Backend;
import io.polyplex.spi.BackendProvider;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The automatic choice of a backend, over providers made for the test. */
class EventQueuesTest {

    private static BackendProvider provider(String name, Optional<String> unsupported, Backend backend)
            throws Exception {
        BackendProvider p = mock(BackendProvider.class);
        when(p.name()).thenReturn(name);
        when(p.unsupportedReason()).thenReturn(unsupported);
        when(p.capabilities()).thenReturn(Set.of());
        if (backend == null) {
            when(p.open(anyInt())).thenThrow(new UnsupportedOperationException(
                    "kevent returned 0 entries for 1 changes with EV_RECEIPT: this kernel ignores EV_RECEIPT"));
        } else {
            when(p.open(anyInt())).thenReturn(backend);
        }
        return p;
    }

    /** A backend whose kernel turns out to lack what it needs is passed over for the next one. */
    @Test
    void aBackendThatRefusesAtOpenIsPassedOver() throws Exception {
        BackendProvider refusing = provider("kqueue", Optional.empty(), null);
        BackendProvider next = provider("poll", Optional.empty(), mock(Backend.class));
        try (EventQueue<Integer> q = EventQueues.openFirst(List.of(refusing, next), Integer::intValue)) {
            assertEquals("poll", q.backend());
        }
    }

    @Test
    void whenEveryBackendRefusesTheMessageSaysWhy() throws Exception {
        BackendProvider refusing = provider("kqueue", Optional.empty(), null);
        BackendProvider absent = provider("epoll", Optional.of("epoll exists on Linux only"), null);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> EventQueues.openFirst(List.of(absent, refusing), Integer::intValue));
        assertTrue(e.getMessage().contains("epoll does not: epoll exists on Linux only")
                && e.getMessage().contains("kqueue refused to open: kevent returned 0 entries"), e.getMessage());
    }

    /**
     * The message keeps apart what is on the class path and what runs here: it once listed every
     * backend found as "available", kqueue included on Linux, with the reason in parentheses.
     */
    @Test
    void theMessageSeparatesTheClassPathFromWhatRunsHere() throws Exception {
        BackendProvider epoll = provider("epoll", Optional.of("epoll exists on Linux only"), null);
        BackendProvider kqueue = provider("kqueue", Optional.of("kqueue exists on macOS and the BSDs only"), null);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> EventQueues.openFirst(List.of(epoll, kqueue), Integer::intValue));
        assertTrue(e.getMessage().contains("; on the class path: epoll, kqueue; run here: none; "
                + "epoll does not: epoll exists on Linux only; kqueue does not: kqueue exists on macOS and the BSDs only"),
                e.getMessage());
        assertFalse(e.getMessage().contains("available"), e.getMessage());
    }
}
