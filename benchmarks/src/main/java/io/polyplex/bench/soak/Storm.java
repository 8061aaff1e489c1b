package io.polyplex.bench.soak;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Connection storms up to and past the server's limit. Each burst opens {@code maxConnections +
 * extra} connections as fast as it can, holds them for {@code holdMs}, and then asks each for
 * {@code /}: a connection the server admitted answers 200 with the exact body; one past the limit
 * has already been answered with the server's refusal (503, empty body, Connection: close: see
 * HttpServer.adopt), which is correct. Then it closes them all and waits until the server's open
 * connection count is back to what the rest of the load holds ({@code settleTarget}).
 *
 * <p>Since every connection of a burst is held open until all are checked, the server never has
 * more than its limit open, so a burst that had more than {@code maxConnections} admitted is a
 * broken limit ({@code limitExceeded}, counted as a wrong answer): at least {@code extra} of each burst
 * must be refused.
 *
 * <p>A burst runs holding {@code gate}, which the sampler takes too: samples are taken between
 * storms, when the server's connection count is the steady load's, so that fds and connections
 * can be compared from one sample to the next (see {@link Flatness}).
 */
final class Storm implements Runnable {

    private static final long SETTLE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final InetSocketAddress server;
    private final ClientStats stats;
    private final BooleanSupplier running;
    private final ReentrantLock gate;
    private final int maxConnections;
    private final int extra;
    private final long holdMs;
    private final long pauseMs;
    private final int settleTarget;
    private final byte[] root;

    Storm(InetSocketAddress server, ClientStats stats, BooleanSupplier running, ReentrantLock gate, int maxConnections,
          int extra, long holdMs, long pauseMs, int settleTarget, String backend) {
        this.server = server;
        this.stats = stats;
        this.running = running;
        this.gate = gate;
        this.maxConnections = maxConnections;
        this.extra = extra;
        this.holdMs = holdMs;
        this.pauseMs = pauseMs;
        this.settleTarget = settleTarget;
        this.root = Http.rootBody(backend);
    }

    @Override
    public void run() {
        // The first burst after a pause: the keep-alive connections (wrk's) are made before the server
        // is held at its limit, rather than being refused and reconnecting until the burst ends.
        Soak.sleep(pauseMs);
        while (running.getAsBoolean()) {
            gate.lock();
            try {
                if (!running.getAsBoolean()) {
                    return;
                }
                stats.iterations.incrementAndGet();
                burst();
                settle();
            } finally {
                gate.unlock();
            }
            Soak.sleep(pauseMs);
        }
    }

    private void burst() {
        List<Socket> sockets = new ArrayList<>();
        List<InputStream> ins = new ArrayList<>();
        try {
            for (int i = 0; i < maxConnections + extra; i++) {
                try {
                    Socket s = Http.connect(server);
                    sockets.add(s);
                    ins.add(new BufferedInputStream(s.getInputStream()));
                } catch (IOException e) {
                    stats.broken("storm connect " + (i + 1) + ": " + e);
                }
            }
            Soak.sleep(holdMs);
            int admitted = 0;
            int refused = 0;
            for (int i = 0; i < sockets.size(); i++) {
                try {
                    if (ins.get(i).available() == 0) {
                        sockets.get(i).getOutputStream().write(Http.request("/", false));
                    }
                    Http.Response r = Http.read(ins.get(i));
                    if (Http.isRefusal(r)) {
                        refused++;
                        stats.refused.incrementAndGet();
                        continue;
                    }
                    String why = Http.mismatch(r, 200, root);
                    if (why != null) {
                        stats.wrong("storm /: " + why);
                    } else {
                        admitted++;
                        stats.ok.incrementAndGet();
                    }
                } catch (Http.MalformedException e) {
                    stats.wrong("storm: " + e.getMessage());
                } catch (IOException e) {
                    stats.broken("storm connection " + (i + 1) + ": " + e);
                }
            }
            stats.add("bursts", 1);
            stats.add("opened", sockets.size());
            stats.add("admitted", admitted);
            stats.add("refusedPastLimit", refused);
            stats.max("mostAdmittedInOneBurst", admitted);
            if (admitted > maxConnections) {
                stats.add("limitExceeded", 1);
                stats.wrong("storm: " + admitted + " connections admitted at once, limit " + maxConnections);
            }
        } finally {
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }
    }

    /** Waits until the server has let go of the storm's connections. */
    private void settle() {
        long deadline = System.nanoTime() + SETTLE_NANOS;
        while (System.nanoTime() < deadline) {
            Map<String, Long> m = Http.stats(server);
            if (m != null && m.getOrDefault("open", Long.MAX_VALUE) <= settleTarget) {
                return;
            }
            Soak.sleep(50);
        }
        stats.add("settleTimeouts", 1);
    }
}
