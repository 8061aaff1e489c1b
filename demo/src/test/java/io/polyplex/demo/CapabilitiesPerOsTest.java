package io.polyplex.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.BackendInfo;
import io.polyplex.Capability;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.ParkingPoller;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.ffi.Platform;
import org.junit.jupiter.api.Test;

/**
 * Which backends run on each OS Polyplex targets, and exactly what each offers there, pinned. A
 * backend that should run here but refuses, or runs with a capability lost or gained, fails the
 * build: the conformance contracts take their weaker branches when a capability is missing, so a
 * lost one would otherwise pass unnoticed. The same for the kind of poller thread a {@link
 * ParkingPoller} gets on each backend and JDK: the Parking contracts run virtual pollers only where
 * a service gets them, so where they were lost only this test can say so. Runs on whatever OS
 * builds it (the workflow's Linux, macOS and FreeBSD legs each check their own row); an OS with no
 * row fails, so a new one gets one.
 */
class CapabilitiesPerOsTest {

    private static final Set<Capability> EPOLL = EnumSet.of(Capability.EDGE_TRIGGERED, Capability.ONE_SHOT,
            Capability.KERNEL_PEER_CLOSED, Capability.UNLIMITED_FDS, Capability.SCALABLE);
    private static final Set<Capability> KQUEUE = EPOLL;
    /**
     * POLLRDHUP is Linux's: elsewhere poll has no kernel peer-closed flag. ONE_SHOT everywhere: core
     * emulates it where the kernel lacks it, and the list says what a queue offers.
     */
    private static final Set<Capability> POLL_LINUX = EnumSet.of(Capability.UNLIMITED_FDS, Capability.KERNEL_PEER_CLOSED,
            Capability.ONE_SHOT);
    private static final Set<Capability> POLL = EnumSet.of(Capability.UNLIMITED_FDS, Capability.ONE_SHOT);
    private static final Set<Capability> SELECT = EnumSet.of(Capability.ONE_SHOT);

    /** Backend name to its capabilities where it runs, or null where it must refuse. */
    private static Map<String, Set<Capability>> expected(Platform.OS os) {
        Map<String, Set<Capability>> m = new LinkedHashMap<>();
        switch (os) {
            case LINUX -> {
                m.put("epoll", EPOLL);
                m.put("kqueue", null);
                m.put("poll", POLL_LINUX);
                m.put("select", SELECT);
            }
            case DARWIN, FREEBSD, OPENBSD, DRAGONFLY -> {
                m.put("epoll", null);
                m.put("kqueue", KQUEUE);
                m.put("poll", POLL);
                m.put("select", SELECT);
            }
            default -> throw new AssertionError("no pinned row for " + os + ": add one");
        }
        return m;
    }

    private static String describe(Set<Capability> caps) {
        return caps == null ? "refused" : caps.stream().map(Enum::name).sorted().toList().toString();
    }

    @Test
    void eachBackendRunsHereWithExactlyItsCapabilitiesOrRefusesWithAReason() {
        Platform.OS os = Platform.getNativePlatform().getOS();
        Map<String, String> wanted = new TreeMap<>();
        expected(os).forEach((name, caps) -> wanted.put(name, describe(caps)));
        Map<String, String> got = new TreeMap<>();
        for (BackendInfo b : EventQueues.backends()) {
            got.put(b.name(), describe(b.supported() ? b.capabilities() : null));
            if (!b.supported()) {
                assertTrue(b.unsupportedReason().isPresent() && !b.unsupportedReason().get().isBlank(), b.toString());
            }
        }
        assertEquals(wanted, got, "backends on " + os);
    }

    /** Every backend that should run here opens, and its queue offers exactly what its row (and the list) says. */
    @Test
    void everyBackendThatShouldRunHereOpens() throws Exception {
        Platform.OS os = Platform.getNativePlatform().getOS();
        for (Map.Entry<String, Set<Capability>> e : expected(os).entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            try (EventQueue<NativeSelectableChannel> q = EventQueues.open(e.getKey(), NativeSelectableChannel::getFD)) {
                assertEquals(describe(e.getValue()), describe(q.capabilities()), e.getKey() + " on " + os);
            }
        }
    }

    /**
     * The kind of poller a {@link ParkingPoller} that asks for virtual ones gets on {@code backend}
     * with JDK {@code feature}: "virtual", or "platform" and why.
     */
    private static String pollerKind(String backend, int feature) {
        if (feature < 21) {
            return "platform: virtual threads are final from JDK 21";
        }
        return switch (backend) {
            case "epoll" -> "virtual"; // its queue is an fd, readable while events are pending
            case "kqueue" -> "platform: a kqueue fd can be watched by another kqueue, but nested kqueues"
                    + " cannot be tested here, so they are not relied on";
            case "poll", "select" -> "platform: the set lives in user memory, so there is no fd to watch";
            default -> throw new AssertionError("no poller kind pinned for " + backend + ": add one");
        };
    }

    /**
     * Every backend that should run here gives a service that asks for virtual pollers exactly the
     * kind its row says (virtual on epoll from JDK 21: a lost {@code pollableFd()}, or virtual
     * threads not found, fails here).
     */
    @Test
    void eachBackendGivesAParkingPollerTheKindOfPollerPinnedForThisJdk() throws Exception {
        Platform.OS os = Platform.getNativePlatform().getOS();
        int feature = Runtime.version().feature();
        Map<String, String> wanted = new TreeMap<>();
        Map<String, String> got = new TreeMap<>();
        for (Map.Entry<String, Set<Capability>> e : expected(os).entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            String kind = pollerKind(e.getKey(), feature);
            wanted.put(e.getKey(), kind);
            try (ParkingPoller p = ParkingPoller.open(e.getKey(), 1, true)) {
                got.put(e.getKey(), p.virtualPollers() == kind.equals("virtual") ? kind
                        : p.virtualPollers() ? "virtual" : "platform");
            }
        }
        assertEquals(wanted, got, "ParkingPoller's pollers on " + os + ", JDK " + feature);
    }
}
