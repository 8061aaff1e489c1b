package io.polyplex.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import jnr.enxio.channels.NativeSelectableChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Backend discovery and choice, with every backend module on the class path (as in the demo jar):
 * ServiceLoader finds them all, the OS picks, {@code polyplex.backend} overrides, and a wrong name
 * fails with a message that lists what is available.
 */
class BackendSelectionTest {

    @AfterEach
    void clearOverride() {
        System.clearProperty(EventQueues.BACKEND_PROPERTY);
    }

    private static boolean linux() {
        return System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux");
    }

    @Test
    void everyBackendModuleIsListedWithItsSupportHere() {
        List<BackendInfo> backends = EventQueues.backends();
        List<String> names = backends.stream().map(BackendInfo::name).collect(Collectors.toList());
        assertTrue(names.containsAll(List.of("epoll", "kqueue", "poll", "select")), names.toString());
        for (BackendInfo b : backends) {
            assertEquals(!b.supported(), b.unsupportedReason().isPresent(), b.toString());
        }
        if (linux()) {
            assertTrue(backends.get(0).supported() && backends.get(0).name().equals("epoll"), backends.toString());
        }
    }

    @Test
    void theBestBackendIsChosenForThisOs() throws Exception {
        try (EventQueue<NativeSelectableChannel> q = EventQueues.open(NativeSelectableChannel::getFD)) {
            String first = EventQueues.backends().stream().filter(BackendInfo::supported)
                    .map(BackendInfo::name).findFirst().orElseThrow();
            assertEquals(first, q.backend());
            if (linux()) {
                assertEquals("epoll", q.backend());
            }
        }
    }

    @Test
    void theSystemPropertyOverridesTheChoice() throws Exception {
        String other = EventQueues.backends().stream().filter(BackendInfo::supported)
                .map(BackendInfo::name).reduce((a, b) -> b).orElseThrow(); // the least preferred
        org.junit.jupiter.api.Assumptions.assumeTrue(EventQueues.backends().stream().filter(BackendInfo::supported)
                .count() > 1, "only one backend runs here: nothing to override");
        System.setProperty(EventQueues.BACKEND_PROPERTY, other);
        try (EventQueue<NativeSelectableChannel> q = EventQueues.open(NativeSelectableChannel::getFD)) {
            assertEquals(other, q.backend());
        }
    }

    /** The documented preference: epoll, kqueue, poll, select, whatever ServiceLoader's order. */
    @Test
    void backendsAreListedInTheDocumentedOrder() {
        List<String> names = EventQueues.backends().stream().map(BackendInfo::name).collect(Collectors.toList());
        assertEquals(List.of("epoll", "kqueue", "poll", "select"), names);
    }

    /** A padded property value is trimmed; a blank one means no override. */
    @Test
    void aPaddedOrBlankPropertyValue() throws Exception {
        String last = EventQueues.backends().stream().filter(BackendInfo::supported)
                .map(BackendInfo::name).reduce((a, b) -> b).orElseThrow();
        System.setProperty(EventQueues.BACKEND_PROPERTY, "  " + last + "\t");
        try (EventQueue<NativeSelectableChannel> q = EventQueues.open(NativeSelectableChannel::getFD)) {
            assertEquals(last, q.backend());
        }
        String best = EventQueues.backends().stream().filter(BackendInfo::supported)
                .map(BackendInfo::name).findFirst().orElseThrow();
        System.setProperty(EventQueues.BACKEND_PROPERTY, "   ");
        try (EventQueue<NativeSelectableChannel> q = EventQueues.open(NativeSelectableChannel::getFD)) {
            assertEquals(best, q.backend(), "a blank property was not taken as no override");
        }
    }

    /** A property naming a backend that does not run here fails, saying why; it does not fall back. */
    @Test
    void aPropertyNamingABackendThatDoesNotRunHereSaysWhy() {
        BackendInfo unsupported = EventQueues.backends().stream().filter(b -> !b.supported()).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(unsupported != null, "every backend runs here");
        System.setProperty(EventQueues.BACKEND_PROPERTY, unsupported.name());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> EventQueues.open(NativeSelectableChannel::getFD));
        assertTrue(e.getMessage().contains(unsupported.name()) && e.getMessage().contains(unsupported.unsupportedReason().orElseThrow()),
                e.getMessage());
    }

    @Test
    void anUnknownNameListsWhatIsAvailable() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EventQueues.open("iocp", NativeSelectableChannel::getFD));
        assertTrue(e.getMessage().contains("iocp") && e.getMessage().contains("epoll")
                && e.getMessage().contains("select"), e.getMessage());
        System.setProperty(EventQueues.BACKEND_PROPERTY, "nonesuch");
        assertThrows(IllegalArgumentException.class, () -> EventQueues.open(NativeSelectableChannel::getFD));
    }

    @Test
    void anUnsupportedNameSaysWhy() {
        BackendInfo unsupported = EventQueues.backends().stream().filter(b -> !b.supported()).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(unsupported != null, "every backend runs here");
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> EventQueues.open(unsupported.name(), NativeSelectableChannel::getFD));
        assertTrue(e.getMessage().contains(unsupported.unsupportedReason().orElseThrow()), e.getMessage());
    }

    /**
     * With every backend module on the class path, the message names all four as on the class path
     * and only those that run here as such (on Linux it once listed kqueue as "available").
     */
    @Test
    void anUnsupportedNameListsTheClassPathAndWhatRunsHereApart() {
        BackendInfo unsupported = EventQueues.backends().stream().filter(b -> !b.supported()).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(unsupported != null, "every backend runs here");
        String runHere = EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name)
                .collect(Collectors.joining(", "));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> EventQueues.open(unsupported.name(), NativeSelectableChannel::getFD));
        assertTrue(e.getMessage().endsWith("; on the class path: epoll, kqueue, poll, select; run here: " + runHere),
                e.getMessage());
        if (linux()) {
            assertTrue(e.getMessage().endsWith("run here: epoll, poll, select"), e.getMessage());
        }
    }
}
