package io.polyplex.bench.soak;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * A client that hangs up with a reset (SO_LINGER 0, so close sends RST) while the server is still
 * writing: the first bug of the README, over and over. Each connection asks for {@code /big?kb=N}
 * (a chunked body much larger than the socket buffers) and then, in turn:
 *
 * <ul>
 *   <li>most often reads the head and a random 1-64 KiB of the body, checks that what arrived is a
 *       correct prefix (200, only 'x'), and resets;
 *   <li>one in eight reads the whole body and checks it exactly (so the route itself is proven
 *       under the same load), then resets anyway;
 *   <li>one in eight resets right after sending the request, before any response;
 *   <li>one in eight asks for {@code /slow?ms=400} instead and resets after 50 ms, while the work
 *       is on a worker thread (the server must cancel it).
 * </ul>
 *
 * A 503 refusal (the server at its limit during a storm) is counted as refused, not as an error.
 */
final class Resetter implements Runnable {

    private final InetSocketAddress server;
    private final ClientStats stats;
    private final BooleanSupplier running;
    private final Random random;
    private final int bigKb;
    private final long pauseMs;

    Resetter(InetSocketAddress server, ClientStats stats, BooleanSupplier running, long seed, int bigKb, long pauseMs) {
        this.server = server;
        this.stats = stats;
        this.running = running;
        this.random = new Random(seed);
        this.bigKb = bigKb;
        this.pauseMs = pauseMs;
    }

    @Override
    public void run() {
        byte[] big = Http.bigBody(bigKb);
        for (long i = 0; running.getAsBoolean(); i++) {
            stats.iterations.incrementAndGet();
            try {
                once(i, big);
            } catch (IOException e) {
                stats.broken(e.toString());
            }
            Soak.sleep(pauseMs);
        }
    }

    private void once(long i, byte[] big) throws IOException {
        try (Socket s = Http.connect(server)) {
            s.setSoLinger(true, 0); // close() now sends RST
            InputStream in = new BufferedInputStream(s.getInputStream());
            int kind = (int) (i % 8);
            if (kind == 1) {
                s.getOutputStream().write(Http.request("/slow?ms=400", false));
                Soak.sleep(50);
                if (in.available() > 0) {
                    refusalOr(Http.read(in), "reset during /slow");
                } else {
                    stats.add("resetDuringSlow", 1);
                }
                return;
            }
            s.getOutputStream().write(Http.request("/big?kb=" + bigKb, false));
            if (kind == 2) {
                stats.add("resetRightAfterRequest", 1);
                return;
            }
            if (kind == 0) {
                Http.Response r = Http.read(in);
                if (Http.isRefusal(r)) {
                    stats.refused.incrementAndGet();
                    return;
                }
                String why = Http.mismatch(r, 200, big);
                if (why != null) {
                    stats.wrong("/big?kb=" + bigKb + " read whole: " + why);
                } else {
                    stats.ok.incrementAndGet();
                    stats.add("wholeBodiesChecked", 1);
                }
                return;
            }
            int limit = 1024 + random.nextInt(64 * 1024);
            Http.Response r = Http.read(in, limit);
            if (Http.isRefusal(r)) {
                stats.refused.incrementAndGet();
                return;
            }
            String why = Http.prefixMismatch(r, (byte) 'x');
            if (why != null) {
                stats.wrong("/big?kb=" + bigKb + " prefix: " + why);
            } else {
                stats.add("resetMidResponse", 1);
            }
        } catch (Http.MalformedException e) {
            stats.wrong(e.getMessage());
        }
    }

    /** A response that came before we reset on purpose: only a refusal may come that early. */
    private void refusalOr(Http.Response r, String what) {
        if (Http.isRefusal(r)) {
            stats.refused.incrementAndGet();
        } else {
            stats.wrong(what + ": an early response " + r.status() + " " + Http.preview(r.body()));
        }
    }
}
