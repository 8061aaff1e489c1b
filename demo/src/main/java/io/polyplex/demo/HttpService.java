package io.polyplex.demo;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The demo HTTP server as {@link HttpServer#main} and the tests drive it, whichever way it serves:
 * {@link HttpServer} (one event-loop thread) or {@link VirtualThreadServer} (a virtual thread per
 * connection). Both answer the same {@link Routes} under the same limits and counters.
 */
interface HttpService extends Runnable {

    /** Serves until {@link #shutdown(Duration)}, on the calling thread, then returns. */
    @Override
    void run();

    /**
     * Where the server listens, on TCP.
     *
     * @throws IllegalStateException if it listens on a Unix socket (see {@link #where()})
     */
    InetSocketAddress localAddress() throws IOException;

    /** Where the server listens, for people: {@code http://127.0.0.1:8080/} or {@code unix:/path}. */
    String where() throws IOException;

    /** The backend that watches the sockets, e.g. {@code "epoll"}. */
    String backend();

    /**
     * Stops accepting, lets the responses in flight finish until {@code drain} has passed, closes
     * everything, and returns the counters once {@link #run()} has ended. Callable from any thread
     * (a shutdown hook); idempotent.
     */
    HttpServer.Summary shutdown(Duration drain) throws InterruptedException;
}
