package io.polyplex.kqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The kqueue numbers the backend writes, against the headers: {@code struct kevent} as
 * {@code ../shared/reference/kernel-facts.md} gives it (read from macOS xnu {@code bsd/sys/event.h},
 * FreeBSD, OpenBSD and DragonFly {@code sys/sys/event.h}), and the filter and flag values, which are
 * the same on all four systems.
 */
class KqueueConstantsTest {

    @Test
    void structKeventIsTheHeadersOne() {
        // ident (uintptr_t) @0, filter (int16) @8, flags (uint16) @10, fflags (uint32) @12,
        // data (intptr_t / int64) @16, udata (void *) @24; FreeBSD 12+ adds uint64_t ext[4] @32.
        assertEquals(0, KeventLayout.IDENT);
        assertEquals(8, KeventLayout.FILTER);
        assertEquals(10, KeventLayout.FLAGS);
        assertEquals(12, KeventLayout.FFLAGS);
        assertEquals(16, KeventLayout.DATA);
        assertEquals(24, KeventLayout.UDATA);
        assertEquals(32, KeventLayout.KEVENT32.size());
        assertEquals(64, KeventLayout.KEVENT64.size());
    }

    @Test
    void filtersAndFlagsAreTheHeadersOnes() {
        assertEquals(-1, KqueueBackend.EVFILT_READ);
        assertEquals(-2, KqueueBackend.EVFILT_WRITE);
        assertEquals(0x1, KqueueBackend.EV_ADD);
        assertEquals(0x2, KqueueBackend.EV_DELETE);
        assertEquals(0x4, KqueueBackend.EV_ENABLE);
        assertEquals(0x8, KqueueBackend.EV_DISABLE);
        assertEquals(0x10, KqueueBackend.EV_ONESHOT);
        assertEquals(0x20, KqueueBackend.EV_CLEAR);
        assertEquals(0x40, KqueueBackend.EV_RECEIPT);
        assertEquals(0x80, KqueueBackend.EV_DISPATCH);
        assertEquals(0x4000, KqueueBackend.EV_ERROR);
        assertEquals(0x8000, KqueueBackend.EV_EOF);
        assertEquals(0x100, EmulatedKqueue.EV_FORCEONESHOT); // FreeBSD only, emulated
    }
}
