package io.polyplex.bench.soak;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Writes one soak's outcome: {@code soak-<backend>.json} (settings, criteria in words, every
 * verdict with the numbers it rests on, client counts, the drain, every sample) and {@code
 * soak-<backend>.svg} (one panel per series: samples, warm-up shaded, the fitted line in green or
 * red), both by hand as the suite's Report does, and the text printed at the end of a run.
 */
final class SoakReport {

    private SoakReport() {
    }

    static void write(SoakRun.Outcome o, Path dir) throws IOException {
        String stem = SoakRun.stem(o.backend(), o.settings().mode());
        Files.writeString(dir.resolve(stem + ".json"), json(o), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(stem + ".svg"), svg(o), StandardCharsets.UTF_8);
    }

    /**
     * PASS or FAIL; a smoke run's SMOKE OK or SMOKE FAILED, since seconds of load prove that every
     * part works, not that nothing leaks.
     */
    static String verdict(SoakRun.Outcome o) {
        if (o.settings().smoke()) {
            return o.pass() ? "SMOKE OK" : "SMOKE FAILED";
        }
        return o.pass() ? "PASS" : "FAIL";
    }

    /** The verdict in a few lines, for the console. */
    static String text(SoakRun.Outcome o) {
        StringBuilder b = new StringBuilder();
        long requests = lastRequests(o);
        b.append(String.format(Locale.ROOT, "soak %s (%s): %s after %s: %,d requests answered by the server, %d wrong"
                        + " bodies, %d broken responses, %d refusals past the limit (correct)%n", o.backend(),
                o.settings().mode().id, verdict(o), SoakRun.duration(o.seconds()), requests,
                o.wrongBodies(), o.brokenResponses(), o.refusals()));
        for (Flatness.Verdict v : o.verdicts()) {
            b.append(String.format(Locale.ROOT, "  %-17s %-5s", v.series(), !v.judged() ? "n/a" : v.pass() ? "flat"
                    : "NOT FLAT"));
            if (v.judged() && !Double.isNaN(v.mean())) {
                boolean kib = v.unit().equals("KiB");
                b.append(String.format(Locale.ROOT, " %s..%s, growth %s (limit %s)%s",
                        show(v.min(), kib), show(v.max(), kib), show(v.growth(), kib), show(v.growthLimit(), kib),
                        Double.isNaN(v.rangeLimit()) ? "" : ", range limit " + show(v.rangeLimit(), false)));
            }
            b.append('\n');
        }
        b.append(String.format(Locale.ROOT, "  drain: %s%n", o.drain().pass() ? String.format(Locale.ROOT,
                "exit %d %.1f s after SIGTERM, %d of %d requests in flight answered", o.drain().exitCode(),
                o.drain().seconds(), o.drain().inFlightAnswered(), o.drain().inFlight()) : "FAILED"));
        for (String f : o.failures()) {
            b.append("  FAIL: ").append(f).append('\n');
        }
        for (String n : o.notes()) {
            b.append("  note: ").append(n).append('\n');
        }
        if (o.settings().smoke()) {
            double run = o.settings().runSeconds();
            b.append(String.format(Locale.ROOT, "  note: smoke run: the series above are judged over their last %s,"
                    + " which proves only that the judge runs; a leak shows over minutes%n",
                    SoakRun.duration(run - Flatness.warmupSeconds(run))));
        }
        return b.toString();
    }

    private static String show(double v, boolean kib) {
        return kib ? String.format(Locale.ROOT, "%.1f MiB", v / 1024) : Flatness.num(v);
    }

    private static long lastRequests(SoakRun.Outcome o) {
        long r = 0;
        for (Sample x : o.samples()) {
            r = Math.max(r, x.requests());
        }
        return r;
    }

    // ------------------------------------------------------------------ JSON

    static String json(SoakRun.Outcome o) {
        Soak.Settings s = o.settings();
        StringBuilder b = new StringBuilder("{\n");
        field(b, 1, "backend", str(o.backend()));
        field(b, 1, "mode", str(s.mode().id));
        field(b, 1, "smoke", Boolean.toString(s.smoke()));
        field(b, 1, "pass", Boolean.toString(o.pass()));
        field(b, 1, "failures", strings(o.failures()));
        field(b, 1, "notes", strings(o.notes()));
        field(b, 1, "started", str(o.started().toString()));
        field(b, 1, "loadSeconds", num(o.seconds()));
        field(b, 1, "machine", "{\"cpu\": " + str(cpu()) + ", \"cpus\": " + Runtime.getRuntime().availableProcessors()
                + ", \"os\": " + str(System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch")) + ", \"jdk\": " + str(System.getProperty("java.vm.vendor") + " "
                + System.getProperty("java.runtime.version")) + "}");
        field(b, 1, "server", "{\"command\": " + strings(relative(o.serverCommand())) + ", \"maxConnections\": "
                + s.maxConnections() + ", \"idleTimeoutMs\": " + s.idleTimeoutMs() + ", \"drainMs\": " + s.drainMs()
                + ", \"heapMb\": " + s.heapMb() + ", \"edge\": " + s.edge() + ", \"acceptThreads\": " + s.acceptThreads()
                + "}");
        field(b, 1, "sampling", "{\"everySeconds\": " + num(s.sampleSeconds()) + ", \"sources\": " + str(o.probeSources())
                + ", \"when\": " + str("between connection storms (the storm waits), fds before the /stats request")
                + "}");
        field(b, 1, "load", "{\"runSeconds\": " + num(s.runSeconds()) + ", \"wrk\": {\"threads\": 1, \"connections\": "
                + s.wrkConnections() + ", \"pauseMsBetweenRequests\": " + s.wrkPauseMs() + ", \"path\": \"/\"}"
                + ", \"resetters\": {\"threads\": " + s.resetters() + ", \"bigKb\": " + s.bigKb() + ", \"pauseMs\": "
                + Soak.RESETTER_PAUSE_MS + "}, \"tricklers\": {\"threads\": " + s.tricklers() + ", \"maxPauseMsPerByte\": "
                + s.trickleMaxPauseMs() + "}, \"storm\": {\"connectionsPerBurst\": " + (s.maxConnections()
                + s.stormExtra()) + ", \"holdMs\": " + s.stormHoldMs() + ", \"pauseMs\": " + s.stormPauseMs() + "}}");
        StringBuilder criteria = new StringBuilder("{\"warmup\": ").append(str(Flatness.describeWarmup()))
                .append(", \"fit\": ").append(str("Theil-Sen line (slope: the median of the slopes between every"
                        + " pair of samples) over the samples after warm-up; growth = slope x (last - first sample time)"));
        for (Flatness.Verdict v : o.verdicts()) {
            criteria.append(", ").append(str(v.series())).append(": ").append(str(v.rule()));
        }
        criteria.append(", \"bodies\": ").append(str("every complete response must be exactly the promised one (wrk"
                + " via soak.lua, and every Java client); none may be wrong or broken"))
                .append(", \"drain\": ").append(str("SIGTERM with requests in flight: they are answered, the server"
                        + " prints its summary and exits 0 within " + Soak.DRAIN_BOUND.toSeconds() + " s")).append('}');
        field(b, 1, "criteria", criteria.toString());
        b.append("  \"series\": [\n");
        for (int i = 0; i < o.verdicts().size(); i++) {
            Flatness.Verdict v = o.verdicts().get(i);
            b.append("    {\"name\": ").append(str(v.series())).append(", \"unit\": ").append(str(v.unit()))
                    .append(", \"judged\": ").append(v.judged()).append(", \"pass\": ").append(v.pass())
                    .append(", \"reasons\": ").append(strings(v.reasons()))
                    .append(", \"samples\": ").append(v.samples()).append(", \"samplesJudged\": ").append(v.samplesJudged())
                    .append(", \"warmupSeconds\": ").append(num(v.warmupSeconds()))
                    .append(", \"windowSeconds\": [").append(num(v.windowStart())).append(", ").append(num(v.windowEnd()))
                    .append("], \"min\": ").append(num(v.min())).append(", \"max\": ").append(num(v.max()))
                    .append(", \"mean\": ").append(num(v.mean())).append(", \"theilSenSlopePerMinute\": ").append(num(v.slopePerMinute()))
                    .append(", \"growth\": ").append(num(v.growth())).append(", \"rangeLimit\": ").append(num(v.rangeLimit()))
                    .append(", \"growthLimit\": ").append(num(v.growthLimit()))
                    .append(", \"beforeLoad\": ").append(num(v.baseline())).append(", \"aboveBeforeLoad\": ")
                    .append(num(v.level())).append(", \"aboveBeforeLoadLimit\": ").append(num(v.levelLimit()))
                    .append(", \"sensitivity\": ").append(str(v.sensitivity())).append('}')
                    .append(i + 1 < o.verdicts().size() ? ",\n" : "\n");
        }
        b.append("  ],\n");
        StringBuilder clients = new StringBuilder("{\"wrongBodies\": " + o.wrongBodies() + ", \"brokenResponses\": "
                + o.brokenResponses() + ", \"refusalsPastLimit\": " + o.refusals());
        Wrk.Result w = o.wrk();
        clients.append(", \"wrk\": {\"ran\": ").append(w.ran()).append(", \"ok\": ").append(w.ok()).append(", \"wrong\": ")
                .append(w.wrong()).append(", \"refused\": ").append(w.refused()).append(", \"firstWrong\": ")
                .append(str(w.firstWrong())).append(", \"requestsPerSecond\": ").append(num(w.requestsPerSecond()))
                .append(", \"socketErrors\": ").append(str(w.socketErrors())).append(", \"non2xx\": ").append(w.non2xx())
                .append(", \"exitCode\": ").append(w.exitCode()).append(", \"note\": ").append(str(w.note())).append('}');
        for (ClientStats c : o.clients()) {
            clients.append(", ").append(str(c.name)).append(": {\"iterations\": ").append(c.iterations.get())
                    .append(", \"ok\": ").append(c.ok.get()).append(", \"wrong\": ").append(c.wrong.get())
                    .append(", \"broken\": ").append(c.broken.get()).append(", \"refused\": ").append(c.refused.get());
            for (Map.Entry<String, Long> e : c.extra().entrySet()) {
                clients.append(", ").append(str(e.getKey())).append(": ").append(e.getValue());
            }
            clients.append(", \"problems\": ").append(strings(c.problems())).append('}');
        }
        field(b, 1, "clients", clients.append('}').toString());
        SoakRun.Drain d = o.drain();
        field(b, 1, "drain", "{\"pass\": " + d.pass() + ", \"exited\": " + d.exited() + ", \"exitCode\": " + d.exitCode()
                + ", \"seconds\": " + num(d.seconds()) + ", \"inFlight\": " + d.inFlight() + ", \"inFlightAnswered\": "
                + d.inFlightAnswered() + ", \"stopped\": " + (d.stoppedLine() == null ? "null" : str(d.stoppedLine()))
                + ", \"problems\": " + strings(d.problems()) + "}");
        b.append("  \"samples\": [\n");
        for (int i = 0; i < o.samples().size(); i++) {
            Sample x = o.samples().get(i);
            b.append("    {\"t\": ").append(num(x.t())).append(", \"fds\": ").append(opt(x.fds()))
                    .append(", \"threads\": ").append(opt(x.threads())).append(", \"rssKiB\": ").append(opt(x.rssKiB()))
                    .append(", \"heapAfterGcKiB\": ").append(opt(x.heapAfterGcKiB())).append(", \"open\": ")
                    .append(opt(x.open())).append(", \"requests\": ").append(opt(x.requests()))
                    .append(", \"connections\": ").append(opt(x.connections())).append(", \"refusedBusy\": ")
                    .append(opt(x.refusedBusy())).append(", \"abortedWrites\": ").append(opt(x.abortedWrites()))
                    .append(", \"cancelledSlow\": ").append(opt(x.cancelledSlow())).append('}')
                    .append(i + 1 < o.samples().size() ? ",\n" : "\n");
        }
        return b.append("  ]\n}\n").toString();
    }

    private static void field(StringBuilder b, int indent, String name, String value) {
        b.append("  ".repeat(indent)).append(str(name)).append(": ").append(value).append(",\n");
    }

    private static String cpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "unknown CPU";
    }

    private static String opt(long v) {
        return v < 0 ? "null" : Long.toString(v);
    }

    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "null";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String strings(List<String> xs) {
        List<String> q = new ArrayList<>();
        for (String x : xs) {
            q.add(str(x));
        }
        return "[" + String.join(", ", q) + "]";
    }

    /**
     * The command with paths under the working directory made relative to it: the results are
     * committed, and should not name the machine they were made on.
     */
    static List<String> relative(List<String> command) {
        String cwd = Path.of("").toAbsolutePath() + java.io.File.separator;
        List<String> out = new ArrayList<>();
        for (String arg : command) {
            out.add(arg.replace(cwd, ""));
        }
        return out;
    }

    static String str(String s) {
        return io.polyplex.bench.Report.str(s);
    }

    // ------------------------------------------------------------------ SVG

    private static final int WIDTH = 860;
    private static final int LEFT = 80;
    private static final int RIGHT = 20;
    private static final int PANEL = 120;
    private static final int GAP = 46;
    private static final int TOP = 94;

    /**
     * One panel per series, sharing the time axis: the samples (dots joined by a line), the warm-up
     * shaded grey, and over the judged window the fitted line, green where the series is flat and
     * red where not. Sizes are drawn in MiB.
     */
    static String svg(SoakRun.Outcome o) {
        List<Flatness.Verdict> vs = o.verdicts();
        int height = TOP + vs.size() * (PANEL + GAP) + 10;
        double run = Math.max(o.settings().runSeconds(), 1);
        for (Sample x : o.samples()) {
            run = Math.max(run, x.t());
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">\n", WIDTH, height));
        b.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, height));
        b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\" fill=\"%s\">"
                        + "Polyplex soak: %s (%s), %s of load: %s</text>\n", o.pass() ? "#1d6b38" : "#a3271b", o.backend(),
                o.settings().mode().id, SoakRun.duration(o.seconds()), verdict(o)));
        b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"42\" font-size=\"11\" fill=\"#555\">%s</text>\n",
                xml(String.format(Locale.ROOT, "%,d requests; %d wrong bodies, %d broken responses; %d refusals past the"
                                + " limit of %d (correct); SIGTERM: %s", lastRequests(o), o.wrongBodies(),
                        o.brokenResponses(), o.refusals(), o.settings().maxConnections(), o.drain().pass()
                                ? String.format(Locale.ROOT, "exit 0 after %.1f s", o.drain().seconds()) : "FAILED"))));
        b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"58\" font-size=\"11\" fill=\"#555\">%s</text>\n",
                xml(o.started() + "; " + cpu() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs; JDK "
                        + System.getProperty("java.runtime.version") + (o.settings().smoke() ? "; SMOKE RUN" : ""))));
        List<ToLongFunction<Sample>> getters = List.of(Sample::fds, Sample::threads, Sample::open,
                Sample::heapAfterGcKiB, Sample::rssKiB);
        for (int i = 0; i < vs.size(); i++) {
            panel(b, vs.get(i), o.samples(), i < getters.size() ? getters.get(i) : x -> -1, TOP + i * (PANEL + GAP), run);
        }
        return b.append("</svg>\n").toString();
    }

    private static void panel(StringBuilder b, Flatness.Verdict v, List<Sample> samples, ToLongFunction<Sample> get,
                              int top, double run) {
        boolean kib = v.unit().equals("KiB");
        double scale = kib ? 1024 : 1;
        String unit = kib ? "MiB" : v.unit();
        int w = WIDTH - LEFT - RIGHT;
        String verdict = !v.judged() ? "not available here" : v.pass() ? "flat" : "NOT FLAT";
        String detail = !v.judged() || Double.isNaN(v.growth()) ? ""
                : String.format(Locale.ROOT, ": growth %s (limit %s)%s", show(v.growth(), kib), show(v.growthLimit(), kib),
                        Double.isNaN(v.rangeLimit()) ? "" : String.format(Locale.ROOT, ", range %s (limit %s)",
                                Flatness.num(v.max() - v.min()), Flatness.num(v.rangeLimit())));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\" fill=\"%s\">%s%s: %s%s"
                        + "</text>\n", LEFT, top - 8, !v.judged() ? "#555" : v.pass() ? "#1d6b38" : "#a3271b",
                xml(v.series()), kib ? " (MiB)" : "", verdict, xml(detail)));
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                + "stroke=\"#bbb\"/>\n", LEFT, top, w, PANEL));
        List<double[]> pts = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Sample x : samples) {
            long y = get.applyAsLong(x);
            if (y >= 0) {
                pts.add(new double[] {x.t(), y / scale});
                lo = Math.min(lo, y / scale);
                hi = Math.max(hi, y / scale);
            }
        }
        if (pts.isEmpty()) {
            return;
        }
        if (!Double.isNaN(v.fitStart())) {
            lo = Math.min(lo, Math.min(v.fitStart(), v.fitEnd()) / scale);
            hi = Math.max(hi, Math.max(v.fitStart(), v.fitEnd()) / scale);
        }
        // At least the allowance tall, centred on the data: noise well within it then looks as small
        // as it is, and a growth beyond it as steep.
        double allowed = (Double.isNaN(v.rangeLimit()) ? 2 * v.growthLimit() : v.rangeLimit()) / scale;
        if (!Double.isNaN(allowed) && hi - lo < allowed) {
            double mid = (hi + lo) / 2;
            lo = mid - allowed / 2;
            hi = mid + allowed / 2;
        }
        double pad = Math.max((hi - lo) * 0.1, kib ? 0.5 : 1);
        lo = Math.max(0, lo - pad);
        hi = hi + pad;
        double wx = LEFT + w * Math.min(v.warmupSeconds(), run) / run;
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#eee\"/>\n",
                LEFT + 1, top + 1, wx - LEFT - 1, PANEL - 1));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#888\">warm-up</text>\n",
                LEFT + 4, top + 12));
        StringBuilder line = new StringBuilder();
        for (double[] p : pts) {
            line.append(String.format(Locale.ROOT, "%.1f,%.1f ", LEFT + w * p[0] / run, y(p[1], lo, hi, top)));
        }
        b.append("<polyline fill=\"none\" stroke=\"#3b6fb6\" stroke-width=\"1.5\" points=\"").append(line.toString().trim())
                .append("\"/>\n");
        for (double[] p : pts) {
            b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"#3b6fb6\"/>\n",
                    LEFT + w * p[0] / run, y(p[1], lo, hi, top)));
        }
        if (!Double.isNaN(v.fitStart())) {
            b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                            + "stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n", LEFT + w * v.windowStart() / run,
                    y(v.fitStart() / scale, lo, hi, top), LEFT + w * v.windowEnd() / run, y(v.fitEnd() / scale, lo, hi, top),
                    v.pass() ? "#3a9d5d" : "#c8493c"));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">%s</text>\n",
                LEFT - 6, top + 10, axis(hi)));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">%s</text>\n",
                LEFT - 6, top + PANEL, axis(lo)));
        for (int k = 0; k <= 4; k++) {
            double t = run * k / 4;
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" "
                    + "fill=\"#555\">%s</text>\n", LEFT + w * t / run, top + PANEL + 13, Flatness.num(Math.rint(t))
                    + (k == 4 ? " s" : "")));
        }
    }

    private static double y(double v, double lo, double hi, int top) {
        return top + PANEL - (PANEL - 2) * (v - lo) / (hi - lo) - 1;
    }

    private static String axis(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
