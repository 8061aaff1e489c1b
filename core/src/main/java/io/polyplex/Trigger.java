package io.polyplex;

/**
 * How a subscribed socket is reported; see {@link EventQueue#subscribe(Object, int, Trigger)}.
 */
public enum Trigger {
    /** Reported by every poll while ready. Every backend has it. */
    LEVEL,
    /**
     * Reported when it becomes ready (new data, new room), not again until the next change; the
     * handler must read or write until EAGAIN. Needs {@link Capability#EDGE_TRIGGERED}.
     */
    EDGE,
    /**
     * Reported once, then every subscribed direction is disabled until it is subscribed again, so
     * exactly one poller handles each readiness. Needs {@link Capability#ONE_SHOT}.
     */
    ONE_SHOT
}
