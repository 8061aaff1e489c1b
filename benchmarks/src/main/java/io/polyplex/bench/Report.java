package io.polyplex.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns the suite's measurements into what it publishes: the targets table (each target of the
 * issue as a ratio of two numbers from the same run), the full results table, {@code results.json}
 * and {@code chart.svg}. The ratios are computed here and nowhere else.
 */
public final class Report {

    /** Where and when the numbers were taken. */
    record Machine(String cpu, int cpus, String os, String jdk, Instant date, boolean smoke, boolean pinned) {

        static Machine current(Instant date, boolean smoke, boolean pinned) {
            String cpu = "unknown CPU";
            try {
                for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                    if (line.startsWith("model name")) {
                        cpu = line.substring(line.indexOf(':') + 1).trim();
                        break;
                    }
                }
            } catch (IOException e) {
                // not Linux: leave it unknown
            }
            return new Machine(cpu, onlineCpus(),
                    System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                            + System.getProperty("os.arch"),
                    System.getProperty("java.vm.vendor") + " " + System.getProperty("java.runtime.version"), date, smoke,
                    pinned);
        }

        /**
         * CPUs of the machine, not of this process: the suite may run pinned to one, which is what
         * {@link Runtime#availableProcessors()} would report.
         */
        static int onlineCpus() {
            try {
                int n = 0;
                for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                    if (line.startsWith("processor")) {
                        n++;
                    }
                }
                return n > 0 ? n : Runtime.getRuntime().availableProcessors();
            } catch (IOException e) {
                return Runtime.getRuntime().availableProcessors();
            }
        }

        String describe() {
            return cpu + ", " + cpus + " CPUs; " + os + "; JDK " + jdk + "; " + date
                    + (pinned ? "; JMH and C floor pinned to CPU 0" : "") + (smoke ? "; SMOKE RUN" : "");
        }
    }

    /** One target of the issue, evaluated. {@code value} is a ratio, or bytes for allocation targets. */
    record Target(String name, String how, double value, String goal, boolean met) {
    }

    /** Below this many bytes per operation the gc profiler is only measuring its own bookkeeping. */
    static final double ZERO_BYTES = 0.1;

    /** The Met column of a smoke run, which judges no target. */
    static final String NOT_JUDGED = "not judged (smoke)";

    private final Machine machine;
    private final List<Measurement> all;
    private final List<Target> targets = new ArrayList<>();

    Report(Machine machine, List<Measurement> all) {
        this.machine = machine;
        this.all = all;
        evaluate();
    }

    private Measurement get(String workload, String contender, String paramPrefix) {
        for (Measurement m : all) {
            if (m.workload().equals(workload) && m.contender().equals(contender) && m.param().startsWith(paramPrefix)
                    && m.ok()) {
                return m;
            }
        }
        return null;
    }

    private void ratio(String name, Measurement a, Measurement b, String goal, boolean atMost, double limit,
                       boolean strict) {
        if (a == null || b == null) {
            targets.add(new Target(name, NOT_MEASURED, Double.NaN, goal, false));
            return;
        }
        double r = a.score() / b.score();
        boolean met = atMost ? (strict ? r < limit : r <= limit) : r >= limit;
        targets.add(new Target(name, String.format(Locale.ROOT, "%s / %s = %s / %s %s", a.contender(), b.contender(),
                num(a.score()), num(b.score()), a.unit()), r, goal, met));
    }

    private void zeroBytes(String name, String workload, List<String> contenders) {
        double worst = Double.NaN;
        List<String> parts = new ArrayList<>();
        for (String c : contenders) {
            Measurement m = get(workload, c, "");
            if (m != null && !Double.isNaN(m.bytesPerOp())) {
                worst = Double.isNaN(worst) ? m.bytesPerOp() : Math.max(worst, m.bytesPerOp());
                parts.add(c.replace("polyplex-", "") + " " + String.format(Locale.ROOT, "%.3f", m.bytesPerOp()));
            }
        }
        targets.add(new Target(name, parts.isEmpty() ? NOT_MEASURED : String.join(", ", parts) + " B/op",
                worst, "0 B/op", !Double.isNaN(worst) && worst < ZERO_BYTES));
    }

    private void evaluate() {
        String reg = "registered=";
        ratio("Dispatch per event vs C floor", get("dispatch", "polyplex-epoll", reg), get("dispatch", "C epoll", reg),
                "<= 1.05x", true, 1.05, false);
        ratio("Dispatch per event vs java.nio", get("dispatch", "polyplex-epoll", reg),
                get("dispatch", "java.nio", reg), "< 1.00x", true, 1.0, true);
        ratio("select dispatch per event vs C floor", get("dispatch", "polyplex-select", reg),
                get("dispatch", "C select", reg), "<= 1.5x", true, 1.5, false);
        // Every JVM has many threads, so its select pays a reference count per fd that a
        // single-threaded C process does not (floor.c, run_dispatch_select_idlethread).
        ratio("select dispatch per event vs C select with an idle thread", get("dispatch", "polyplex-select", reg),
                get("dispatch", "C select+idlethread", reg), "<= 1.5x", true, 1.5, false);
        ratio("Scale: epoll at 10,000 vs at 10", get("scale", "polyplex-epoll", "registered=10000"),
                get("scale", "polyplex-epoll", "registered=10"), "<= 1.2x", true, 1.2, false);
        ratio("Wakeup round trip vs C floor (epoll + pipe)", get("wakeup", "polyplex-epoll", ""),
                get("wakeup", "C epoll+pipe", ""), "<= 1.1x", true, 1.1, false);
        ratio("Wakeup round trip vs java.nio", get("wakeup", "polyplex-epoll", ""), get("wakeup", "java.nio", ""),
                "<= 1.0x", true, 1.0, false);
        List<String> backends = new ArrayList<>();
        for (Measurement m : all) {
            if (m.workload().equals("dispatch") && m.contender().startsWith("polyplex-")) {
                backends.add(m.contender());
            }
        }
        zeroBytes("Allocation per poll (dispatch)", "dispatch", backends);
        zeroBytes("Allocation per subscribe/disable/remove (churn)", "churn", backends);
        ratio("End to end: demo vs java.nio reference", get("e2e", "polyplex-epoll demo", ""),
                get("e2e", "java.nio reference", ""), ">= 1.0x", false, 1.0, false);
        selectorTargets();
    }

    /** The registered counts of the Selector workload, as its params start. */
    private static final List<String> SELECTOR_SIZES = List.of("registered=10,", "registered=1000,", "registered=10000,");

    /**
     * The java.nio Selector's three targets: per event within 1.2x of the JDK's own Selector at
     * every size (the worst size is the value), flat from 10 to 10,000 registered, and nothing
     * allocated per selection (bytes per event times the events of one selection).
     */
    private void selectorTargets() {
        String ours = null;
        for (Measurement m : all) {
            if (m.workload().equals("selector") && m.contender().startsWith("polyplex-selector-")) {
                ours = m.contender();
                break;
            }
        }
        String name = "java.nio Selector per event vs the JDK's Selector";
        Measurement worstA = null;
        Measurement worstB = null;
        for (String size : SELECTOR_SIZES) {
            Measurement a = ours == null ? null : get("selector", ours, size);
            Measurement b = get("selector", "java.nio", size);
            if (a != null && b != null && (worstA == null || a.score() / b.score() > worstA.score() / worstB.score())) {
                worstA = a;
                worstB = b;
            }
        }
        int before = targets.size();
        ratio(name, worstA, worstB, "<= 1.2x", true, 1.2, false);
        if (worstA != null) {
            Target t = targets.remove(before);
            targets.add(new Target(t.name(), t.how() + " (worst size: " + worstA.param().replace(",ready=", ", ready=")
                    + ")", t.value(), t.goal(), t.met()));
        }
        ratio("java.nio Selector: " + (ours == null ? "polyplex-selector" : ours) + " at 10,000 vs at 10",
                ours == null ? null : get("selector", ours, "registered=10000,"),
                ours == null ? null : get("selector", ours, "registered=10,"), "<= 1.2x", true, 1.2, false);
        double worst = Double.NaN;
        List<String> parts = new ArrayList<>();
        for (String size : SELECTOR_SIZES) {
            Measurement m = ours == null ? null : get("selector", ours, size);
            if (m != null && !Double.isNaN(m.bytesPerOp())) {
                double perSelect = m.bytesPerOp() * SelectorBenchmark.READY;
                worst = Double.isNaN(worst) ? perSelect : Math.max(worst, perSelect);
                parts.add(size.substring("registered=".length(), size.length() - 1) + ": "
                        + String.format(Locale.ROOT, "%.3f", perSelect));
            }
        }
        targets.add(new Target("Allocation per select (java.nio Selector)", parts.isEmpty() ? NOT_MEASURED
                : ours + " " + String.join(", ", parts) + " B/select", worst, "0 B/select",
                !Double.isNaN(worst) && worst < ZERO_BYTES * SelectorBenchmark.READY));
    }

    List<Target> targets() {
        return targets;
    }

    // ------------------------------------------------------------------ tables

    /** The How of a target whose numbers this run does not have (a workload skipped, or not run). */
    static final String NOT_MEASURED = "not measured";

    /**
     * The Met column: yes or no, except in a smoke run, whose tiny times judge nothing, and for a
     * target this run did not measure (a run of one workload, {@code --only e2e}, measures one).
     */
    private String met(Target t) {
        return machine.smoke() ? NOT_JUDGED : t.how().equals(NOT_MEASURED) ? NOT_MEASURED : t.met() ? "yes" : "**no**";
    }

    String targetsTable() {
        StringBuilder b = new StringBuilder();
        b.append("Machine: ").append(machine.describe()).append("\n\n");
        if (machine.smoke()) {
            b.append("SMOKE RUN: every step ran once with tiny times, to prove the suite still works. These numbers"
                    + " mean nothing, and no target is judged.\n\n");
        }
        b.append("| Target | Measured | Value | Goal | Met |\n|---|---|---|---|---|\n");
        for (Target t : targets) {
            String value = t.goal().startsWith("0 B/") ? String.format(Locale.ROOT, "%.3f %s", t.value(), t.goal().substring(2))
                    : String.format(Locale.ROOT, "%.2fx", t.value());
            b.append("| ").append(t.name()).append(" | ").append(t.how()).append(" | ")
                    .append(Double.isNaN(t.value()) ? "n/a" : value).append(" | ").append(t.goal()).append(" | ")
                    .append(met(t)).append(" |\n");
        }
        return b.toString();
    }

    String resultsTable() {
        StringBuilder b = new StringBuilder();
        b.append("| Workload | Contender | Setup | Result | Unit | B/op | vs C floor | vs java.nio | Note |\n");
        b.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Measurement m : all) {
            Measurement floor = floorOf(m);
            Measurement nio = nioOf(m);
            b.append("| ").append(m.workload()).append(" | ").append(m.contender()).append(" | ").append(m.param())
                    .append(" | ").append(m.ok() ? num(m.score()) + (Double.isNaN(m.error()) ? "" : " ± " + num(m.error())) : "–")
                    .append(" | ").append(m.unit()).append(" | ")
                    .append(Double.isNaN(m.bytesPerOp()) ? "" : String.format(Locale.ROOT, "%.3f", m.bytesPerOp()))
                    .append(" | ").append(floor != null && m.ok() ? String.format(Locale.ROOT, "%.2fx", m.score() / floor.score()) : "")
                    .append(" | ").append(nio != null && m.ok() && nio != m ? String.format(Locale.ROOT, "%.2fx", m.score() / nio.score()) : "")
                    .append(" | ").append(m.note().replace("|", "/")).append(" |\n");
        }
        return b.toString();
    }

    /** The C floor line with the same syscall family and setup, if any. */
    private Measurement floorOf(Measurement m) {
        String c = m.contender();
        if (c.startsWith("C ") || m.workload().equals("churn") || m.workload().equals("e2e")
                || m.workload().equals("selector")) {
            return null;
        }
        String mechanism = c.equals("java.nio") ? "epoll" : c.equals("jnr-enxio") ? "poll" : c.replace("polyplex-", "");
        String name = m.workload().equals("wakeup") ? "C " + mechanism + "+pipe" : "C " + mechanism;
        return get(m.workload(), name, m.param());
    }

    private Measurement nioOf(Measurement m) {
        return switch (m.workload()) {
            case "e2e" -> get("e2e", "java.nio reference", "");
            case "scale" -> m.contender().startsWith("C ") ? null : get("scale", "java.nio", m.param());
            case "dispatch", "wakeup", "churn" -> m.contender().startsWith("C ") ? null : get(m.workload(), "java.nio", "");
            case "selector" -> get("selector", "java.nio", m.param());
            default -> null;
        };
    }

    static String num(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        return v >= 1000 ? String.format(Locale.ROOT, "%,.0f", v) : v >= 10 ? String.format(Locale.ROOT, "%.1f", v)
                : String.format(Locale.ROOT, "%.2f", v);
    }

    // ------------------------------------------------------------------ files

    /**
     * Reads back a {@code results.json} this class wrote (one object per line, as {@link #json()}
     * lays it out), so the tables and the chart can be rendered again without measuring again.
     */
    static Report read(Path file) throws IOException {
        Machine machine = null;
        List<Measurement> all = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.contains("\"machine\":")) {
                machine = new Machine(field(line, "cpu"), Integer.parseInt(field(line, "cpus")), field(line, "os"),
                        field(line, "jdk"), Instant.parse(field(line, "date")), Boolean.parseBoolean(field(line, "smoke")),
                        Boolean.parseBoolean(field(line, "pinned")));
            } else if (line.contains("\"workload\":")) {
                all.add(new Measurement(field(line, "workload"), field(line, "contender"), field(line, "param"),
                        number(field(line, "score")), number(field(line, "error")), field(line, "unit"),
                        number(field(line, "bytesPerOp")), field(line, "note")));
            }
        }
        if (machine == null) {
            throw new IOException(file + ": no machine line; not a results.json written by the suite");
        }
        return new Report(machine, all);
    }

    private static double number(String v) {
        return v.equals("null") ? Double.NaN : Double.parseDouble(v);
    }

    /** The value of {@code "name": ...} in one line of our own JSON: a string (unescaped) or a literal. */
    private static String field(String line, String name) {
        int at = line.indexOf("\"" + name + "\": ");
        if (at < 0) {
            throw new IllegalArgumentException("no " + name + " in " + line);
        }
        int i = at + name.length() + 4;
        if (line.charAt(i) != '"') {
            int end = i;
            while (end < line.length() && ",}".indexOf(line.charAt(end)) < 0) {
                end++;
            }
            return line.substring(i, end).trim();
        }
        StringBuilder b = new StringBuilder();
        for (i++; line.charAt(i) != '"'; i++) {
            char c = line.charAt(i);
            if (c == '\\') {
                char e = line.charAt(++i);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        b.append((char) Integer.parseInt(line.substring(i + 1, i + 5), 16));
                        i += 4;
                    }
                    default -> b.append(e);
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    void write(Path dir) throws IOException {
        Files.writeString(dir.resolve("summary.md"), "# Polyplex benchmark results\n\n" + targetsTable()
                + "\n## All results\n\n" + resultsTable(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("results.json"), json(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("chart.svg"), svg(), StandardCharsets.UTF_8);
    }

    private String json() {
        StringBuilder b = new StringBuilder("{\n  \"machine\": {");
        b.append("\"cpu\": ").append(str(machine.cpu())).append(", \"cpus\": ").append(machine.cpus())
                .append(", \"os\": ").append(str(machine.os())).append(", \"jdk\": ").append(str(machine.jdk()))
                .append(", \"date\": ").append(str(machine.date().toString())).append(", \"smoke\": ")
                .append(machine.smoke()).append(", \"pinned\": ").append(machine.pinned())
                .append("},\n  \"targets\": [\n");
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            b.append("    {\"name\": ").append(str(t.name())).append(", \"measured\": ").append(str(t.how()))
                    .append(", \"value\": ").append(jnum(t.value())).append(", \"goal\": ").append(str(t.goal()))
                    .append(", \"met\": ")
                    .append(machine.smoke() || t.how().equals(NOT_MEASURED) ? "null" : Boolean.toString(t.met()))
                    .append('}')
                    .append(i + 1 < targets.size() ? ",\n" : "\n");
        }
        b.append("  ],\n  \"measurements\": [\n");
        for (int i = 0; i < all.size(); i++) {
            Measurement m = all.get(i);
            b.append("    {\"workload\": ").append(str(m.workload())).append(", \"contender\": ").append(str(m.contender()))
                    .append(", \"param\": ").append(str(m.param())).append(", \"score\": ").append(jnum(m.score()))
                    .append(", \"error\": ").append(jnum(m.error())).append(", \"unit\": ").append(str(m.unit()))
                    .append(", \"bytesPerOp\": ").append(jnum(m.bytesPerOp())).append(", \"note\": ").append(str(m.note()))
                    .append('}').append(i + 1 < all.size() ? ",\n" : "\n");
        }
        return b.append("  ]\n}\n").toString();
    }

    private static String jnum(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.6f", v);
    }

    /** {@code s} as a JSON string literal (quoted, escaped); the soak's report writes its strings with it too. */
    public static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /**
     * Horizontal bars, one per ratio target: the measured ratio, a dashed line at 1.0x and a mark at
     * the target; green where met, red where not.
     */
    private String svg() {
        List<Target> ratios = new ArrayList<>();
        for (Target t : targets) {
            if (!t.goal().startsWith("0 B/")) {
                ratios.add(t);
            }
        }
        int left = 330;
        int width = 820;
        int barArea = width - left - 80;
        int rowH = 34;
        int top = 74;
        int height = top + rowH * ratios.size() + 40;
        double max = 2.0;
        for (Target t : ratios) {
            if (!Double.isNaN(t.value())) {
                max = Math.max(max, Math.ceil(t.value() * 2) / 2);
            }
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"13\">\n", width, height));
        b.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height));
        b.append("<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">Polyplex: the issue's targets as ratios "
                + "(same run)</text>\n");
        String described = machine.describe();
        int split = described.indexOf("; JDK ");
        b.append("<text x=\"10\" y=\"42\" font-size=\"11\" fill=\"#555\">")
                .append(xml(split < 0 ? described : described.substring(0, split))).append("</text>\n");
        if (split >= 0) {
            b.append("<text x=\"10\" y=\"58\" font-size=\"11\" fill=\"#555\">")
                    .append(xml(described.substring(split + 2))).append("</text>\n");
        }
        for (int i = 0; i < ratios.size(); i++) {
            Target t = ratios.get(i);
            int y = top + i * rowH;
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8,
                    y + 19, xml(t.name())));
            if (!Double.isNaN(t.value())) {
                double w = barArea * Math.min(t.value(), max) / max;
                b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"22\" fill=\"%s\"/>\n",
                        left, y + 4, w, machine.smoke() ? "#999999" : t.met() ? "#3a9d5d" : "#c8493c"));
                b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%.2fx</text>\n", left + barArea + 12,
                        y + 19, t.value()));
            } else {
                b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#555\">not measured</text>\n",
                        left + 6, y + 19));
            }
            double goal = goalValue(t.goal());
            if (!Double.isNaN(goal)) {
                double gx = left + barArea * goal / max;
                b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\" "
                        + "stroke-width=\"2\"/>\n", gx, y + 1, gx, y + 29));
            }
        }
        double one = left + barArea / max;
        int bottom = top + rowH * ratios.size();
        b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\" "
                + "stroke-dasharray=\"4 3\"/>\n", one, top, one, bottom));
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">1.0x</text>\n",
                one, bottom + 16));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#555\" font-size=\"11\">%s</text>\n", left,
                bottom + 32, machine.smoke() ? "SMOKE RUN: tiny times, these numbers mean nothing; no target is judged."
                        : "black tick: the target; green: met, red: not met. Lower is better except end to end."));
        return b.append("</svg>\n").toString();
    }

    private static double goalValue(String goal) {
        String digits = goal.replaceAll("[^0-9.]", "");
        return digits.isEmpty() ? Double.NaN : Double.parseDouble(digits);
    }
}
