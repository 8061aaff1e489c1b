package io.polyplex.bench.soak;

import java.util.List;

/**
 * How the demo server handles connections during a soak, with the server arguments that select
 * it (its name goes into the JSON and the file names, its arguments to the server's command line).
 */
enum Mode {
    /** One event-loop thread (HttpServer's default): no extra arguments. */
    EVENT_LOOP("event-loop", List.of()),
    /** A virtual thread per connection (JDK 21+): the server's {@code --virtual-threads}. */
    VIRTUAL_THREADS("virtual-threads", List.of("--virtual-threads"));

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
        throw new IllegalArgumentException("unknown mode " + id + "; known: event-loop, virtual-threads");
    }
}
