package io.polyplex.bench.soak;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo server in a JVM of its own (as the end-to-end benchmark starts it), so that the fds,
 * threads and memory the soak samples are the server's alone. It listens on port 0; the port is
 * read from the line the server prints when it listens. Its output goes to {@code log}.
 */
final class ServerProcess implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on http://[^/]*:(\\d+)/");

    /** How the server ended: whether it exited within the bound, its status, how long it took, its last words. */
    record Stop(boolean exited, int exitCode, double seconds, String stoppedLine) {
    }

    final Process process;
    final Path log;
    final InetSocketAddress address;
    private final Thread killOnExit;

    private ServerProcess(Process process, Path log, InetSocketAddress address, Thread killOnExit) {
        this.process = process;
        this.log = log;
        this.address = address;
        this.killOnExit = killOnExit;
    }

    /** Starts {@code command} and waits up to {@code timeout} for it to say where it listens. */
    static ServerProcess start(List<String> command, String host, Path log, Duration timeout)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Thread hook = Soak.killOnExit(p);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Matcher m = LISTENING.matcher(Files.readString(log, StandardCharsets.UTF_8));
            if (m.find()) {
                return new ServerProcess(p, log, new InetSocketAddress(host, Integer.parseInt(m.group(1))), hook);
            }
            if (!p.isAlive()) {
                Soak.forget(hook);
                throw new IOException("the server exited with status " + p.exitValue() + " before listening: "
                        + Files.readString(log, StandardCharsets.UTF_8).trim());
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly().waitFor();
                Soak.forget(hook);
                throw new IOException("the server did not say where it listens within " + timeout.toSeconds() + " s");
            }
            Thread.sleep(50);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /**
     * Sends SIGTERM (what {@link Process#destroy()} sends on POSIX systems) and waits up to {@code
     * bound} for the server to drain and exit; killed if it does not.
     */
    Stop stop(Duration bound) throws IOException, InterruptedException {
        long start = System.nanoTime();
        process.destroy();
        boolean exited = process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!exited) {
            process.destroyForcibly().waitFor();
        }
        String stopped = null;
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            if (line.startsWith("stopped: ")) {
                stopped = line;
            }
        }
        return new Stop(exited, exited ? process.exitValue() : -1, seconds, stopped);
    }

    /** Kills the server if it still runs (a run that failed before the SIGTERM check). */
    @Override
    public void close() {
        if (process.isAlive()) {
            try {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Soak.forget(killOnExit);
    }
}
