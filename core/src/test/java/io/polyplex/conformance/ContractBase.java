package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.polyplex.EventQueue;
import io.polyplex.SocketEvent;
import io.polyplex.net.NativeSockets;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.function.ToIntFunction;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

/**
 * What every contract shares: one queue per test (opened through the backend's hook), real sockets
 * that are all closed after the test, and small helpers. "Eventually" waits use {@link #EVENTUALLY}
 * (generous: the machine may be a busy 2-core box); "never early" checks are exact.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class ContractBase {

    /** Upper bound for anything that must happen "promptly" or "eventually". */
    protected static final Duration EVENTUALLY = Duration.ofSeconds(20);

    /** The hook: open a queue on the backend under test. */
    protected abstract <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException;

    /**
     * Whether the kernel under the backend is emulated by Java test code (kqueue on Linux): its own
     * allocations would be counted by the allocation tests, which then skip themselves.
     */
    protected boolean kernelIsJavaCode() {
        return false;
    }

    protected EventQueue<NativeSocketChannel> queue;
    private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

    /**
     * Opens the test's queue. A backend that refuses to open fails the test: a suite says itself on
     * which systems it runs (a JUnit condition on its class), so a refusal where it should run is a
     * lost backend, never a quiet skip that would move the contracts onto their weaker branches.
     */
    @BeforeEach
    void openQueue() throws IOException {
        queue = openQueue(NativeSelectableChannel::getFD);
    }

    /** Opens one more queue, closed after the test. */
    protected <S> EventQueue<S> openQueue(ToIntFunction<? super S> fdOf) throws IOException {
        EventQueue<S> q = open(fdOf);
        toClose.push(q);
        return q;
    }

    @AfterEach
    void closeEverything() throws Exception {
        while (!toClose.isEmpty()) {
            try {
                toClose.pop().close();
            } catch (IOException e) {
                // already closed by the test
            }
        }
    }

    /** Registers something to close after the test. */
    protected <T extends AutoCloseable> T closeLater(T c) {
        toClose.push(c);
        return c;
    }

    /** A connected AF_UNIX pair: [0] is "ours", [1] is the peer. */
    protected NativeSocketChannel[] pair() throws IOException {
        NativeSocketChannel[] p = NativeSockets.socketPair();
        closeLater(p[0]);
        closeLater(p[1]);
        return p;
    }

    /** A connected TCP pair over 127.0.0.1: [0] is the accepted (server) side, [1] the client. */
    protected NativeSocketChannel[] tcpPair() throws IOException {
        NativeServerSocketChannel server = closeLater(NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8));
        InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
        NativeSocketChannel client = closeLater(NativeSockets.connect(at));
        NativeSocketChannel accepted = null;
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (accepted == null && System.nanoTime() < deadline) {
            accepted = NativeSockets.accept(server);
            if (accepted == null) {
                Thread.onSpinWait();
            }
        }
        assertTrue(accepted != null, "accept after connect");
        closeLater(accepted);
        server.close();
        return new NativeSocketChannel[] {accepted, client};
    }

    protected static void write(NativeSocketChannel ch, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            if (ch.write(b) == 0) {
                fail("send buffer unexpectedly full");
            }
        }
    }

    /** Reads what is there now: the text, "" if nothing, null at end of stream. */
    protected static String readNow(NativeSocketChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        int n = ch.read(b);
        if (n < 0) {
            return null;
        }
        return new String(b.array(), 0, n, StandardCharsets.US_ASCII);
    }

    /** One poll with the list form. */
    protected List<SocketEvent<NativeSocketChannel>> poll(Duration timeout) throws IOException {
        return queue.poll(timeout);
    }

    /**
     * Polls until an event for {@code socket} arrives that has all of {@code bits}, or fails after
     * {@link #EVENTUALLY}. Returns the event's readyOps.
     */
    protected int awaitEvent(NativeSocketChannel socket, int bits) throws IOException {
        return awaitEvent(socket, bits, queue);
    }

    /** {@link #awaitEvent(NativeSocketChannel, int)} on another queue. */
    protected static <S> int awaitEvent(S socket, int bits, EventQueue<S> queue) throws IOException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            for (SocketEvent<S> e : queue.poll(Duration.ofMillis(200))) {
                if (e.socket() == socket && (e.readyOps() & bits) == bits) {
                    return e.readyOps();
                }
                if (seen.size() < 10) {
                    seen.add(e.toString());
                }
            }
        }
        return fail("no " + SocketEvent.opsToString(bits) + " event for " + socket + " within "
                + EVENTUALLY + "; first events seen: " + seen);
    }

    /** Events for {@code socket} in one zero-timeout poll (0 if none). */
    protected int opsNow(NativeSocketChannel socket) throws IOException {
        int ops = 0;
        for (SocketEvent<NativeSocketChannel> e : queue.poll(Duration.ZERO)) {
            if (e.socket() == socket) {
                ops |= e.readyOps();
            }
        }
        return ops;
    }

    /**
     * The fds open now that were not in {@code before}: sockets, pipes, kernel queues and files
     * alike, except what the JVM itself opens while a test runs ({@link #isTheJvmsOwn}: a jar or
     * class it loads, its own runtime image, /dev/random, /proc). A file the library or the test
     * left open, /dev/null included (the acceptor's spare), counts. An fd is counted only if it is
     * still open, to the same file, a moment later, so something another thread of the JVM holds
     * for an instant is no leak; a leak stays open.
     */
    public static java.util.Set<Integer> newFds(java.util.Set<Integer> before) {
        java.util.Map<Integer, String> found = newFdTargets(before);
        for (int look = 0; look < 3 && !found.isEmpty(); look++) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            java.util.Map<Integer, String> again = newFdTargets(before);
            found.entrySet().removeIf(e -> !e.getValue().equals(again.get(e.getKey())));
        }
        return new java.util.TreeSet<>(found.keySet());
    }

    /** The new fds now, each with what it points at ("" where that cannot be read: not Linux). */
    private static java.util.Map<Integer, String> newFdTargets(java.util.Set<Integer> before) {
        java.util.Map<Integer, String> found = new java.util.TreeMap<>();
        for (int fd : fdNumbers()) {
            if (before.contains(fd)) {
                continue;
            }
            String target = target(fd);
            if (target != null && !isTheJvmsOwn(target)) {
                found.put(fd, target);
            }
        }
        return found;
    }

    /** What {@code fd} points at (Linux's /proc), "" where that cannot be read, null if it is closed. */
    private static String target(int fd) {
        java.nio.file.Path link = java.nio.file.Path.of("/proc/self/fd", Integer.toString(fd));
        try {
            return java.nio.file.Files.readSymbolicLink(link).toString();
        } catch (java.nio.file.NoSuchFileException e) {
            return java.nio.file.Files.isDirectory(link.getParent()) ? null : ""; // closed meanwhile
        } catch (IOException | UnsupportedOperationException e) {
            return ""; // no /proc: every new fd counts
        }
    }

    /** Directories and jars on the class path: the JVM reads class and resource files from them. */
    private static final java.util.List<String> CLASS_PATH = java.util.Arrays.stream(
                    System.getProperty("java.class.path", "").split(java.io.File.pathSeparator))
            .filter(entry -> !entry.isEmpty())
            .map(ContractBase::realPath)
            .toList();

    /** The JDK's own files: its runtime image ({@code lib/modules}), libraries, security files. */
    private static final String JAVA_HOME = realPath(System.getProperty("java.home")) + "/";

    /** {@code path} as /proc names it: absolute, links resolved where it exists. */
    private static String realPath(String path) {
        java.nio.file.Path p = java.nio.file.Path.of(path).toAbsolutePath().normalize();
        try {
            return p.toRealPath().toString();
        } catch (IOException e) {
            return p.toString();
        }
    }

    /**
     * Whether a file the process opened is the JVM's own business, not a leak of the library or
     * the test: classes and resources (jars, class files, the class path's directories), the JDK's
     * own files, the entropy devices SecureRandom keeps open once it has been used, the JVM's reads
     * of /proc and /sys (its container support, surefire's check of its parent), and Flight
     * Recorder's repository (the virtual-thread tests record pinning events). Everything else,
     * /dev/null and temporary files included, is counted.
     */
    static boolean isTheJvmsOwn(String target) {
        if (!target.startsWith("/")) {
            return false; // socket:[..], pipe:[..], anon_inode:[eventpoll], or nothing readable
        }
        String path = target.endsWith(" (deleted)") ? target.substring(0, target.length() - 10) : target;
        if (path.endsWith(".jar") || path.endsWith(".class") || path.endsWith(".jfr")
                || path.startsWith(JAVA_HOME) || path.startsWith("/proc/") || path.startsWith("/sys/")
                || path.equals("/dev/random") || path.equals("/dev/urandom")) {
            return true;
        }
        for (String entry : CLASS_PATH) {
            if (path.equals(entry) || path.startsWith(entry + "/")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Asserts that no fd is open now that was not open in {@code before}: a leak check that is
     * immune to the JVM closing an unrelated fd meanwhile (a Cleaner closing a collected JarFile), so
     * it never flakes, yet fails for any fd the queue left open.
     */
    protected static void assertNoNewFds(java.util.Set<Integer> before, String what) {
        java.util.Set<Integer> left = newFds(before);
        if (!left.isEmpty()) {
            java.util.Map<Integer, String> targets = new java.util.TreeMap<>();
            left.forEach(fd -> targets.put(fd, target(fd)));
            fail(what + ": fds left open: " + targets);
        }
    }

    /** Number of open fds of this process (/proc/self/fd on Linux, /dev/fd elsewhere). */
    protected static int openFds() {
        File dir = new File("/proc/self/fd");
        if (!dir.isDirectory()) {
            dir = new File("/dev/fd");
        }
        String[] names = Objects.requireNonNull(dir.list(), "cannot list " + dir);
        return names.length;
    }

    /**
     * Asserts that the caller's sockets are still open in the kernel, each fd still naming a
     * socket, not just that their channels say so ({@code Channel.isOpen()} is a Java flag that a
     * native close(2) behind the channel's back would not clear).
     */
    protected static void assertOpenInTheKernel(String what, NativeSocketChannel... sockets) {
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        for (NativeSocketChannel s : sockets) {
            int fd = s.getFD();
            assertTrue(s.isOpen(), what + ": the channel of fd " + fd + " says it is closed");
            jnr.posix.FileStat st = posix.allocateStat();
            assertTrue(io.polyplex.internal.Descriptors.isOpen(fd) && posix.fstat(fd, st) == 0 && st.isSocket(),
                    what + ": fd " + fd + " is no longer an open socket in the kernel");
        }
    }

    protected static boolean isOpen(Channel c) {
        return c.isOpen();
    }

    protected static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** CPU time of the calling thread, in nanoseconds (to tell a kernel wait from a spin). */
    protected static long cpuNanos() {
        return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    /**
     * Asserts that a wait that took {@code wallNanos} of wall time burnt less than a fifth of it in
     * CPU on this thread: a wait in the kernel costs next to nothing, a busy loop all the CPU it can
     * get (which on a busy 2-core box may be only half of the wall time).
     */
    protected static void assertNoSpin(long cpuNanos, long wallNanos, String what) {
        assertTrue(cpuNanos < wallNanos / 5, what + ": " + cpuNanos / 1_000_000 + " ms CPU in "
                + wallNanos / 1_000_000 + " ms: the wait spins");
    }

    /** The fd numbers this process has open now. */
    public static java.util.Set<Integer> fdNumbers() {
        File dir = new File("/proc/self/fd");
        if (!dir.isDirectory()) {
            dir = new File("/dev/fd");
        }
        java.util.Set<Integer> set = new java.util.HashSet<>();
        for (String name : Objects.requireNonNull(dir.list(), "cannot list " + dir)) {
            // Skip the directory fd the listing itself used: it is closed again by now.
            if (java.nio.file.Files.exists(dir.toPath().resolve(name), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                set.add(Integer.parseInt(name));
            }
        }
        return set;
    }

    /**
     * A new connected pair whose element [0] has the fd number {@code fd}, which must be free (just
     * closed): the kernel hands out the lowest free number, and if something else took it first the
     * pair's socket is moved there with dup2, so fd reuse is tested every time, not just sometimes.
     */
    protected NativeSocketChannel[] pairOnFd(int fd) throws IOException {
        NativeSocketChannel[] p = pair();
        if (p[0].getFD() == fd) {
            return p;
        }
        if (p[1].getFD() == fd) {
            return new NativeSocketChannel[] {p[1], p[0]};
        }
        assertTrue(!fdNumbers().contains(fd), "fd " + fd + " is no longer free: cannot reuse it");
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        assertEquals(fd, posix.dup2(p[0].getFD(), fd), "dup2 onto fd " + fd);
        NativeSocketChannel moved = closeLater(new NativeSocketChannel(fd));
        p[0].close();
        return new NativeSocketChannel[] {moved, p[1]};
    }

    /** A connected pair whose [0] is on a high fd number: see {@link HighFd}. */
    protected NativeSocketChannel[] highPair() throws IOException {
        NativeSocketChannel[] p = HighFd.socketPair();
        closeLater(p[0]);
        closeLater(p[1]);
        return p;
    }

    /** A non-blocking pipe wrapped as channels: [0] the read end, [1] the write end. */
    protected NativeSocketChannel[] pipe() {
        jnr.posix.POSIX posix = jnr.posix.POSIXFactory.getNativePOSIX();
        int[] fds = new int[2];
        assertEquals(0, posix.pipe(fds), "pipe()");
        for (int fd : fds) {
            int flags = posix.fcntl(fd, jnr.constants.platform.Fcntl.F_GETFL);
            posix.fcntlInt(fd, jnr.constants.platform.Fcntl.F_SETFL,
                    flags | jnr.constants.platform.OpenFlags.O_NONBLOCK.intValue());
        }
        return new NativeSocketChannel[] {closeLater(new NativeSocketChannel(fds[0])),
                closeLater(new NativeSocketChannel(fds[1]))};
    }

    /** Runs {@code body} on a new thread, recording what it throws. */
    protected static Thread start(ThrowingRunnable body, java.util.concurrent.atomic.AtomicReference<Throwable> failure) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Waits until {@code t} is blocked in its backend's kernel wait (a {@code poll} frame of a
     * {@code *Backend} class on its stack), failing after {@link #EVENTUALLY}: a test that makes a
     * change "while another thread is blocked" then knows it was.
     */
    protected static void awaitBlockedInTheKernel(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (System.nanoTime() < deadline) {
            assertTrue(t.isAlive(), t.getName() + " ended instead of blocking");
            for (StackTraceElement f : t.getStackTrace()) {
                if (f.getMethodName().equals("poll") && f.getClassName().endsWith("Backend")) {
                    return;
                }
            }
            Thread.sleep(5);
        }
        fail(t.getName() + " never blocked in the kernel within " + EVENTUALLY);
    }

    /**
     * Waits until {@code t} is parked in a {@link io.polyplex.ParkingPoller}'s wait (a
     * BlockingSockets call's, a BlockingAcceptor's accept), failing after {@link #EVENTUALLY}: its
     * blocker says so. Its state alone (WAITING) would also match a thread still queued for the
     * poller's lock, whose wait is not registered yet.
     */
    public static void awaitParkedInAParkingPoller(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (!(java.util.concurrent.locks.LockSupport.getBlocker(t) instanceof io.polyplex.ParkingPoller)
                || t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(t.isAlive() && System.nanoTime() < deadline,
                    t.getName() + " never parked in a ParkingPoller: " + t.getState());
            Thread.sleep(1);
        }
    }

    /**
     * Unparks a thread every 2 ms until closed (or for {@link #EVENTUALLY} at most): spurious
     * wakes, which {@code LockSupport.parkNanos} may always have, made certain. A timed wait that
     * restarted its timeout at each one would not end while they go on.
     */
    public static final class SpuriousWakes implements AutoCloseable {
        private final Thread poker;
        private volatile boolean stop;

        /** Starts waking {@code target}. */
        public SpuriousWakes(Thread target) {
            poker = new Thread(() -> {
                long end = System.nanoTime() + EVENTUALLY.toNanos();
                while (!stop && System.nanoTime() < end) {
                    java.util.concurrent.locks.LockSupport.unpark(target);
                    java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                }
            }, "spurious-wakes");
            poker.setDaemon(true);
            poker.start();
        }

        @Override
        public void close() {
            stop = true;
            try {
                poker.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Waits until {@code t} waits for its turn to poll: parked on the queue's poll lock while
     * another thread holds it (an {@code acquirePollLock} frame of {@code PollerEventQueue} on its
     * stack, a lock as its blocker), failing after {@link #EVENTUALLY}.
     */
    protected static void awaitWaitingForTheTurn(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        while (System.nanoTime() < deadline) {
            assertTrue(t.isAlive(), t.getName() + " ended instead of waiting for its turn");
            boolean inLock = false;
            for (StackTraceElement f : t.getStackTrace()) {
                inLock |= f.getMethodName().equals("acquirePollLock") && f.getClassName().endsWith(".PollerEventQueue");
            }
            Thread.State state = t.getState();
            if (inLock && (state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING)
                    && java.util.concurrent.locks.LockSupport.getBlocker(t)
                            instanceof java.util.concurrent.locks.AbstractQueuedSynchronizer) {
                return;
            }
            Thread.sleep(5);
        }
        fail(t.getName() + " never waited for its turn within " + EVENTUALLY);
    }

    /** Joins {@code t} within {@link #EVENTUALLY}, failing if it is still running. */
    protected static void assertEnds(Thread t, String what) throws InterruptedException {
        t.join(EVENTUALLY.toMillis());
        assertTrue(!t.isAlive(), what + " still running after " + EVENTUALLY);
    }

    @FunctionalInterface
    protected interface ThrowingRunnable {
        void run() throws Exception;
    }
}
