package io.polyplex.bench.soak;

import java.util.List;

/**
 * How the demo server handles connections during a soak, with the server arguments that select
 * it. Only the event loop exists today; a virtual-thread mode would be one more constant here (its
 * name goes into the JSON and the file names, its arguments to the server's command line).
 */
enum Mode {
    /** One event-loop thread (HttpServer's only mode): no extra arguments. */
    EVENT_LOOP("event-loop", List.of());

    final String id;
    final List<String> serverArgs;

    Mode(String id, List<String> serverArgs) {
        this.id = id;
        this.serverArgs = serverArgs;
    }

    static Mode of(String id) {
        for (Mode m : values()) {
            if (m.id.equals(id)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown mode " + id + "; known: event-loop");
    }
}
