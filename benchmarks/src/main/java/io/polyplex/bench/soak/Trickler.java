package io.polyplex.bench.soak;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * A slow client: it sends its request heads one byte per TCP segment (TCP_NODELAY), with a pause of
 * {@code 1..maxPauseMs} ms between bytes, so the server sees dozens of partial reads per request.
 * On each connection: {@code GET /} (keep-alive), then {@code GET /slow?ms=50} with {@code
 * Connection: close}, each response checked exactly, and then end of stream (the server closes
 * after the second, as asked).
 *
 * <p>The server refuses a connection past its limit (a storm in progress) by sending a 503 at once
 * and closing; the trickler notices the early response before its next byte (or its next write
 * fails on the closed connection) and reads it: a 503 refusal counts as refused.
 */
final class Trickler implements Runnable {

    private static final int SLOW_MS = 50;

    private final InetSocketAddress server;
    private final ClientStats stats;
    private final BooleanSupplier running;
    private final Random random;
    private final int maxPauseMs;
    private final byte[] root;

    Trickler(InetSocketAddress server, ClientStats stats, BooleanSupplier running, long seed, int maxPauseMs,
             String backend) {
        this.server = server;
        this.stats = stats;
        this.running = running;
        this.random = new Random(seed);
        this.maxPauseMs = maxPauseMs;
        this.root = Http.rootBody(backend);
    }

    @Override
    public void run() {
        while (running.getAsBoolean()) {
            stats.iterations.incrementAndGet();
            try {
                once();
            } catch (Http.MalformedException e) {
                stats.wrong(e.getMessage());
            } catch (IOException e) {
                stats.broken(e.toString());
            }
        }
    }

    private void once() throws IOException {
        try (Socket s = Http.connect(server)) {
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            Http.Response r = trickle(in, out, Http.request("/", false));
            if (Http.isRefusal(r)) {
                stats.refused.incrementAndGet();
                return;
            }
            if (!check(r, root, "/")) {
                return;
            }
            r = trickle(in, out, Http.request("/slow?ms=" + SLOW_MS, true));
            if (!check(r, Http.slowBody(SLOW_MS), "/slow?ms=" + SLOW_MS)) {
                return;
            }
            if (!r.closes()) {
                stats.wrong("/slow with Connection: close answered without Connection: close");
            } else if (in.read() != -1) {
                stats.wrong("data after a Connection: close response");
            }
        }
    }

    private boolean check(Http.Response r, byte[] body, String what) {
        String why = Http.mismatch(r, 200, body);
        if (why != null) {
            stats.wrong(what + " trickled: " + why);
            return false;
        }
        stats.ok.incrementAndGet();
        return true;
    }

    /** Writes {@code request} a byte at a time, then reads the response (or an early one). */
    private Http.Response trickle(InputStream in, OutputStream out, byte[] request) throws IOException {
        try {
            for (byte b : request) {
                if (in.available() > 0) {
                    break; // answered before we finished asking: only a refusal does that
                }
                out.write(b);
                out.flush();
                stats.add("bytesTrickled", 1);
                Soak.sleep(1 + random.nextInt(maxPauseMs));
            }
        } catch (IOException e) {
            // The server closed (a refusal, whose 503 is already here): read what it said.
            stats.add("writeFailedThenRead", 1);
        }
        return Http.read(in);
    }
}
