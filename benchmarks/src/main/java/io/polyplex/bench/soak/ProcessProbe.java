package io.polyplex.bench.soak;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads what the soak watches in the server's process, from outside it. Every reading returns -1
 * when it is not available here, never throws: a soak on an OS without /proc still runs, with the
 * series it cannot read marked unavailable.
 *
 * <ul>
 *   <li>Open fds: the entries of {@code /proc/<pid>/fd}; without /proc (macOS, the BSDs), the fd
 *       lines of {@code lsof -p}.
 *   <li>Threads: {@code Threads:} of {@code /proc/<pid>/status} (every native thread: GC and JIT
 *       too); without /proc, the JVM's {@code java.threads.live} counter, read by the same jcmd
 *       call as the heap.
 *   <li>RSS: {@code VmRSS:} of {@code /proc/<pid>/status}; without /proc, {@code ps -o rss=}.
 *   <li>Heap after GC: one {@code jcmd <pid> -f FILE} call running {@code GC.run} (a full,
 *       stop-the-world collection, since the server does not run with ExplicitGCInvokesConcurrent)
 *       and then {@code GC.heap_info}, whose "used" is then the live set plus what was in flight.
 *       jcmd rather than jstat: jstat reads occupancy at whatever moment it looks, garbage included,
 *       and cannot trigger a collection, so its numbers move with the allocation rate, not with what
 *       is retained; and jcmd is a supported tool of every JDK (HotSpot's attach mechanism), where
 *       reading the perf-data file or calling the attach API ourselves would tie the soak to JDK
 *       internals. Its cost, a small JVM per sample (about 0.1 s of CPU with the flags below), is a
 *       few percent of a core at one sample per 10 s. The GC it forces is not a disturbance to
 *       avoid: it is what makes heap samples comparable.
 * </ul>
 */
final class ProcessProbe {

    private static final Pattern G1_USED = Pattern.compile("heap\\s+total\\s+\\d+[KMG],\\s+used\\s+(\\d+)([KMG])");
    private static final Pattern ANY_USED = Pattern.compile("used\\s+(\\d+)([KMG])");
    private static final Pattern THREADS_LIVE = Pattern.compile("java\\.threads\\.live=(\\d+)");

    private final long pid;
    private final Path proc;
    private final boolean hasProc;
    private final Path jcmd;
    private final Path commands;
    private long lastThreadsFromJcmd = -1;

    /** Probes process {@code pid}; jcmd's command file goes to the temporary directory, deleted at exit. */
    ProcessProbe(long pid) throws IOException {
        this.pid = pid;
        this.proc = Path.of("/proc", Long.toString(pid));
        this.hasProc = Files.isDirectory(proc.resolve("fd")) && statusField("Threads:") >= 0;
        Path j = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        this.jcmd = Files.isExecutable(j) ? j : null;
        // In the temporary directory, not the results: it is the probe's scratch, gone at exit.
        this.commands = Files.createTempFile("soak-jcmd-" + pid + "-", ".txt");
        commands.toFile().deleteOnExit();
        Files.writeString(commands, "GC.run\nGC.heap_info\n" + (hasProc ? "" : "PerfCounter.print\n"),
                StandardCharsets.US_ASCII);
    }

    /** Where each reading comes from on this machine (for the JSON). */
    String sources() {
        return (hasProc ? "fds: /proc/PID/fd; threads and RSS: /proc/PID/status"
                : "fds: lsof -p; threads: jcmd PerfCounter.print java.threads.live; RSS: ps -o rss=")
                + "; heap after GC: " + (jcmd == null ? "unavailable (no jcmd in " + System.getProperty("java.home") + ")"
                : "jcmd PID -f (GC.run, GC.heap_info)");
    }

    long fds() {
        if (hasProc) {
            try (Stream<Path> s = Files.list(proc.resolve("fd"))) {
                return s.count();
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }
        String out = run(List.of("lsof", "-n", "-P", "-p", Long.toString(pid), "-F", "f"));
        if (out == null) {
            return -1;
        }
        long n = 0;
        for (String line : out.split("\n")) {
            if (line.matches("f\\d+")) {
                n++;
            }
        }
        return n;
    }

    /** Threads; without /proc, the count read by the last {@link #heapAfterGcKiB()} call. */
    long threads() {
        return hasProc ? statusField("Threads:") : lastThreadsFromJcmd;
    }

    long rssKiB() {
        if (hasProc) {
            return statusField("VmRSS:");
        }
        String out = run(List.of("ps", "-o", "rss=", "-p", Long.toString(pid)));
        try {
            return out == null ? -1 : Long.parseLong(out.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Forces a full GC in the server and returns the heap in use right after it, in KiB. */
    long heapAfterGcKiB() {
        if (jcmd == null) {
            return -1;
        }
        // -J flags: a client JVM that starts fast and small (it only talks to the server's attach socket).
        String out = run(List.of(jcmd.toString(), "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-J-Xmx32m",
                Long.toString(pid), "-f", commands.toString()));
        if (out == null) {
            return -1;
        }
        Matcher t = THREADS_LIVE.matcher(out);
        lastThreadsFromJcmd = t.find() ? Long.parseLong(t.group(1)) : -1;
        return parseHeapUsedKiB(out);
    }

    /**
     * "used" of GC.heap_info in KiB: G1's one heap line; for other collectors the sum of the "used"
     * of each generation's line (Metaspace and class space are not heap). -1 when none is found.
     */
    static long parseHeapUsedKiB(String heapInfo) {
        Matcher g1 = G1_USED.matcher(heapInfo);
        if (g1.find()) {
            return kib(g1.group(1), g1.group(2));
        }
        long sum = 0;
        boolean found = false;
        for (String line : heapInfo.split("\n")) {
            if (line.contains("Metaspace") || line.contains("class space") || line.contains("PerfCounter")
                    || line.contains("=")) {
                continue;
            }
            Matcher m = ANY_USED.matcher(line);
            if (m.find()) {
                sum += kib(m.group(1), m.group(2));
                found = true;
            }
        }
        return found ? sum : -1;
    }

    private static long kib(String n, String unit) {
        long v = Long.parseLong(n);
        return switch (unit) {
            case "M" -> v * 1024;
            case "G" -> v * 1024 * 1024;
            default -> v;
        };
    }

    private long statusField(String name) {
        try {
            for (String line : Files.readAllLines(proc.resolve("status"), StandardCharsets.ISO_8859_1)) {
                if (line.startsWith(name)) {
                    return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone, or not Linux's format
        }
        return -1;
    }

    /** The command's stdout, or null when it cannot run, fails or takes over 30 s. */
    private static String run(List<String> cmd) {
        Path out = null;
        try {
            // Output to a file, not a pipe: reading a pipe would block past the timeout of a hung command.
            out = Files.createTempFile("soak-probe", ".txt");
            Process p = new ProcessBuilder(new ArrayList<>(cmd)).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? Files.readString(out, StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException e) {
                    // a stray temp file
                }
            }
        }
    }
}
