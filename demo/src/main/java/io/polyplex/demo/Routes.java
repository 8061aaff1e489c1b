package io.polyplex.demo;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * What the demo answers, whichever way it serves: {@link HttpServer}'s event loop or {@link
 * VirtualThreadServer}'s thread per connection. The routes, their bodies, the refusals and the
 * {@code /stats} line live here once, so the two modes differ only in how they move bytes and wait.
 * Stateless and thread-safe.
 */
final class Routes {

    /** The answer to one request. */
    sealed interface Reply permits Send, Slow {
        /** Whether the connection stays open after the answer. */
        boolean keepAlive();
    }

    /**
     * A response to send now.
     *
     * @param bytes the whole response (heap buffer, flipped)
     * @param keepAlive whether the connection stays open after it
     */
    record Send(ByteBuffer bytes, boolean keepAlive) implements Reply {}

    /**
     * {@code /slow}: work of {@code ms} milliseconds, then {@link #answer()}; the server watches the
     * connection meanwhile (a reset cancels the work, a FIN does not).
     *
     * @param ms how long the work takes
     * @param keepAlive whether the connection stays open after the answer
     */
    record Slow(int ms, boolean keepAlive) implements Reply {
        /** The answer once the work is done. */
        ByteBuffer answer() {
            return HttpMessages.response(200, "OK", "slept " + ms + " ms\n", keepAlive);
        }
    }

    /**
     * The counters {@code /stats} prints, one line of {@code key=value} pairs: what the tests (to
     * know a slow request is being worked on before they hang up) and the soak run (to sample) read.
     */
    record Stats(long connections, int open, long requests, int slowInFlight, long cancelledSlow,
                 long halfClosedSlow, long abortedWrites, long refusedBusy) {
        String line() {
            return "connections=" + connections + " open=" + open + " requests=" + requests
                    + " slowInFlight=" + slowInFlight + " cancelledSlow=" + cancelledSlow + " halfClosedSlow="
                    + halfClosedSlow + " abortedWrites=" + abortedWrites + " refusedBusy=" + refusedBusy + "\n";
        }
    }

    /**
     * The largest {@code /big?kb=}: 16 MiB, built in memory for each request (a bigger one could
     * exhaust the heap of a server that ten clients ask at once).
     */
    static final int MAX_BIG_KB = 16 * 1024;
    /** The longest {@code /slow?ms=}: one minute, the longest a client is expected to wait for an answer. */
    static final int MAX_SLOW_MS = 60_000;

    private Routes() {
    }

    /**
     * The answer to a parsed request head.
     *
     * <p>{@code /big?kb=N} (default 64) and {@code /slow?ms=N} (default 1000) take a whole number up
     * to {@link #MAX_BIG_KB} and {@link #MAX_SLOW_MS}; anything else is answered 400, saying so.
     *
     * @param backend the backend's name, which {@code /} names
     * @param stats the {@code /stats} line, asked only for that route
     */
    static Reply route(HttpMessages.Head h, String backend, Supplier<Stats> stats) {
        if (h.status() != 0) {
            return send(h.status(), "Bad Request", h.error(), false);
        }
        if (!h.method().equals("GET")) {
            return send(405, "Method Not Allowed", "only GET\n", h.keepAlive());
        }
        return switch (h.path()) {
            case "/" -> send(200, "OK", "hello from polyplex (" + backend + ")\n", h.keepAlive());
            case "/big" -> {
                int kb = HttpMessages.param(h.query(), "kb", 64, MAX_BIG_KB);
                yield kb < 0 ? send(400, "Bad Request", "kb must be a whole number from 0 to " + MAX_BIG_KB + "\n", h.keepAlive())
                        : new Send(big(kb, h.keepAlive()), h.keepAlive());
            }
            case "/slow" -> {
                int ms = HttpMessages.param(h.query(), "ms", 1000, MAX_SLOW_MS);
                yield ms < 0 ? send(400, "Bad Request", "ms must be a whole number from 0 to " + MAX_SLOW_MS + "\n", h.keepAlive())
                        : new Slow(ms, h.keepAlive());
            }
            case "/stats" -> send(200, "OK", stats.get().line(), h.keepAlive());
            default -> send(404, "Not Found", "no such path\n", h.keepAlive());
        };
    }

    /** 431: the request head did not fit in {@link HttpServer#MAX_HEAD} bytes; the connection closes. */
    static ByteBuffer tooLarge() {
        return HttpMessages.response(431, "Request Header Fields Too Large",
                "request head over " + HttpServer.MAX_HEAD + " bytes\n", false);
    }

    /**
     * Refuses a connection past the limit: the 503, sent once without waiting, then the channel is
     * closed even if it could not be sent (skipping the close leaked one fd per client that had
     * already reset). Shared by both server modes.
     */
    static void refuse(jnr.enxio.channels.NativeSocketChannel ch) {
        try {
            io.polyplex.net.NativeSockets.send(ch.getFD(), busy());
        } catch (java.io.IOException e) {
            // the client is gone already (reset while waiting to be accepted): refused either way
        } finally {
            try {
                ch.close();
            } catch (java.io.IOException e) {
                // nothing to do
            }
        }
    }

    /** 503: a connection over the limit, or one that arrived while draining; sent once, then closed. */
    static ByteBuffer busy() {
        return ByteBuffer.wrap("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
    }

    /** {@code /big}: a chunked body of {@code kb} chunks of 1 KiB of {@code 'x'}. */
    static ByteBuffer big(int kb, boolean keepAlive) {
        StringBuilder b = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n")
                .append(keepAlive ? "" : "Connection: close\r\n").append("\r\n");
        byte[] chunk = new byte[1024];
        Arrays.fill(chunk, (byte) 'x');
        ByteBuffer out = ByteBuffer.allocate(b.length() + kb * (1024 + 8) + 5);
        out.put(b.toString().getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < kb; i++) {
            out.put("400\r\n".getBytes(StandardCharsets.ISO_8859_1)).put(chunk).put((byte) '\r').put((byte) '\n');
        }
        out.put("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)).flip();
        return out;
    }

    private static Send send(int status, String reason, String body, boolean keepAlive) {
        return new Send(HttpMessages.response(status, reason, body, keepAlive), keepAlive);
    }
}
