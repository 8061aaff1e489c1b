package io.polyplex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How a backend describes itself: the same text on every run, whatever set it was given. */
class BackendInfoTest {

    /**
     * The capabilities come out in {@link Capability}'s order however the given set iterates
     * (Set.copyOf's order depends on a per-JVM salt, so the text changed from run to run).
     */
    @Test
    void capabilitiesAreListedInDeclarationOrder() {
        List<Capability> reversed = new ArrayList<>(Arrays.asList(Capability.values()));
        Collections.reverse(reversed);
        BackendInfo b = new BackendInfo("epoll", true, Optional.empty(), new LinkedHashSet<>(reversed));
        assertEquals("epoll [EDGE_TRIGGERED, ONE_SHOT, KERNEL_PEER_CLOSED, UNLIMITED_FDS, SCALABLE]", b.toString());
        assertEquals(List.of(Capability.values()), new ArrayList<>(b.capabilities()), "iteration order");

        LinkedHashSet<Capability> two = new LinkedHashSet<>(List.of(Capability.SCALABLE, Capability.ONE_SHOT));
        assertEquals("poll [ONE_SHOT, SCALABLE]", new BackendInfo("poll", true, Optional.empty(), two).toString());
    }

    @Test
    void noOptionalCapabilitiesIsSaidInWords() {
        assertEquals("select (no optional capabilities)",
                new BackendInfo("select", true, Optional.empty(), Set.of()).toString());
    }

    @Test
    void anUnsupportedBackendSaysWhy() {
        assertEquals("kqueue (unsupported: kqueue exists on macOS and the BSDs only)", new BackendInfo("kqueue", false,
                Optional.of("kqueue exists on macOS and the BSDs only"), Set.of(Capability.EDGE_TRIGGERED)).toString());
    }

    /** The set is a copy and cannot be changed through the record. */
    @Test
    void theCapabilitiesAreAnUnmodifiableCopy() {
        LinkedHashSet<Capability> given = new LinkedHashSet<>(List.of(Capability.ONE_SHOT));
        BackendInfo b = new BackendInfo("poll", true, Optional.empty(), given);
        given.add(Capability.SCALABLE);
        assertEquals(Set.of(Capability.ONE_SHOT), b.capabilities());
        assertThrows(UnsupportedOperationException.class, () -> b.capabilities().add(Capability.SCALABLE));
        assertEquals(b, new BackendInfo("poll", true, Optional.empty(), Set.of(Capability.ONE_SHOT)));
    }
}
