package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueues;
import io.polyplex.internal.SocketLibrary;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import jnr.constants.platform.AddressFamily;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.constants.platform.Sock;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * What the virtual-thread tests share. They compile on Java 17, the baseline, and run on JDK 21+
 * only: virtual threads are reached by reflection ({@code Thread.ofVirtual()} is not in 17's API),
 * and the JFR event they read back, {@code jdk.VirtualThreadPinned}, is only recorded from 21.
 */
public final class VirtualThreadSupport {

    /** Why the tests skip on an older JDK (JUnit prints it; core's SkipReasons puts it on the console). */
    public static final String NEEDS_21 = "virtual threads are final from JDK 21; Java 17, the baseline, has none,"
            + " so these proofs run on the JDK 21+ legs";

    /** Upper bound for anything that must happen "promptly" or "eventually" on a busy 2-core box. */
    static final Duration EVENTUALLY = Duration.ofSeconds(20);

    /** The JFR event a virtual thread emits when it parks while pinned to its carrier. */
    static final String PINNED = "jdk.VirtualThreadPinned";

    private static final Method OF_VIRTUAL;
    private static final Method NAME;
    private static final Method START;
    private static final Method IS_VIRTUAL;

    static {
        Method ofVirtual = null;
        Method name = null;
        Method start = null;
        Method isVirtual = null;
        try {
            ofVirtual = Thread.class.getMethod("ofVirtual");
            Class<?> builder = Class.forName("java.lang.Thread$Builder");
            name = builder.getMethod("name", String.class);
            start = builder.getMethod("start", Runnable.class);
            isVirtual = Thread.class.getMethod("isVirtual");
        } catch (ReflectiveOperationException e) {
            // JDK 17-20: the tests skip before they get here
        }
        OF_VIRTUAL = ofVirtual;
        NAME = name;
        START = start;
        IS_VIRTUAL = isVirtual;
    }

    private VirtualThreadSupport() {}

    /** The backends that run here, by name. */
    public static Stream<String> backends() {
        return EventQueues.backends().stream().filter(BackendInfo::supported).map(BackendInfo::name);
    }

    /** Starts a virtual thread on the default scheduler (Thread.ofVirtual().name(name).start(task)). */
    public static Thread startVirtual(String name, Runnable task) {
        if (OF_VIRTUAL == null) {
            throw new UnsupportedOperationException("no virtual threads on JDK " + Runtime.version());
        }
        try {
            Object builder = NAME.invoke(OF_VIRTUAL.invoke(null), name);
            return (Thread) START.invoke(builder, task);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("starting a virtual thread", e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    public static boolean isVirtual(Thread t) {
        try {
            return IS_VIRTUAL != null && (Boolean) IS_VIRTUAL.invoke(t);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The default scheduler's carrier count, as the JDK computes it. */
    public static int carriers() {
        String set = System.getProperty("jdk.virtualThreadScheduler.parallelism");
        return set != null ? Integer.parseInt(set) : Runtime.getRuntime().availableProcessors();
    }

    /**
     * Whether {@code t} is parked (WAITING or TIMED_WAITING) with a park blocker that {@code where}
     * accepts: ParkingPoller parks its waiters with itself as the blocker, so this tells a thread
     * waiting for its fd from one that has not got there yet, or that waits for a lock on the way.
     * A virtual thread blocked in a native call (one that pins its carrier) is RUNNABLE, never this.
     */
    public static boolean parkedIn(Thread t, Predicate<Object> where) {
        Thread.State s = t.getState();
        return (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) && where.test(LockSupport.getBlocker(t));
    }

    /**
     * Waits until every thread in {@code threads} is {@link #parkedIn} {@code where}, polling their
     * states (no sleep stands in for this). Once seen parked, a waiter stays so until the test acts,
     * so one pass over the list suffices. Fails after {@link #EVENTUALLY}.
     */
    public static void awaitAllParked(List<Thread> threads, Predicate<Object> where, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        for (int i = 0; i < threads.size(); i++) {
            Thread t = threads.get(i);
            while (!parkedIn(t, where)) {
                if (System.nanoTime() > deadline || !t.isAlive()) {
                    fail(what + ": only " + i + " of " + threads.size() + " threads parked within " + EVENTUALLY
                            + "; " + t + " is " + t.getState() + (t.isAlive() ? "" : " (ended)") + ", blocker "
                            + LockSupport.getBlocker(t) + ", at " + Arrays.toString(t.getStackTrace()));
                }
                Thread.sleep(1);
            }
        }
    }

    /** Asserts that every thread in {@code threads} is still parked in {@code where}, now. */
    public static void assertAllParked(List<Thread> threads, Predicate<Object> where, String what) {
        List<String> not = new ArrayList<>();
        for (Thread t : threads) {
            if (!parkedIn(t, where) && not.size() < 5) {
                not.add(t.getName() + " " + t.getState());
            }
        }
        assertEquals(List.of(), not, what);
    }

    /** Joins every thread, failing if one is still alive after {@link #EVENTUALLY} in all. */
    public static void joinAll(List<Thread> threads, String what) throws InterruptedException {
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                t.join(Math.max(1, left / 1_000_000));
            }
            if (t.isAlive()) {
                long alive = threads.stream().filter(Thread::isAlive).count();
                fail(what + ": " + alive + " of " + threads.size() + " threads still running after " + EVENTUALLY
                        + "; e.g. " + t + " " + t.getState() + " at " + Arrays.toString(t.getStackTrace()));
            }
        }
    }

    /** CPU time of the whole process (every thread: pollers, carriers, JIT, GC, JFR), in ns. */
    public static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** CPU time of every live platform thread, by name and id (what a window's diagnosis starts from). */
    public static java.util.Map<String, Long> threadCpuNanos() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        java.util.Map<String, Long> cpu = new java.util.HashMap<>();
        for (java.lang.management.ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null) {
                long ns = mx.getThreadCpuTime(info.getThreadId());
                if (ns >= 0) {
                    cpu.put(info.getThreadName() + "#" + info.getThreadId(), ns);
                }
            }
        }
        return cpu;
    }

    /** The threads that used the most CPU since {@code before}, for a failure message. */
    public static String topCpuSince(java.util.Map<String, Long> before) {
        return threadCpuNanos().entrySet().stream()
                .map(e -> java.util.Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0)
                .sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(6)
                .map(e -> e.getKey() + " " + e.getValue() / 1_000_000 + " ms")
                .collect(Collectors.joining(", ", "[", "] (JVM threads; the GC's and the VM's own are not listed)"));
    }

    /**
     * Every live thread, virtual ones included, whose name starts with {@code prefix}, as its name
     * and thread id: read
     * from a JSON thread dump ({@code HotSpotDiagnosticMXBean.dumpThreads}, JDK 21+), since {@link
     * Thread#getAllStackTraces()} lists platform threads only.
     */
    public static java.util.Set<String> liveThreadNames(String prefix) {
        try {
            Object bean = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.HotSpotDiagnosticMXBean.class);
            Class<?> format = Class.forName("com.sun.management.HotSpotDiagnosticMXBean$ThreadDumpFormat");
            Object json = format.getField("JSON").get(null);
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("threads");
            java.nio.file.Path file = dir.resolve("dump.json"); // dumpThreads refuses an existing file
            try {
                com.sun.management.HotSpotDiagnosticMXBean.class.getMethod("dumpThreads", String.class, format)
                        .invoke(bean, file.toString(), json);
                String dump = java.nio.file.Files.readString(file);
                java.util.Set<String> names = new java.util.TreeSet<>();
                // {"tid": "23", "time": ..., "virtual": true, "name": "...", ...}: names are not
                // unique, thread ids are, so each thread is its name and its id
                java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                        "\"tid\"\\s*:\\s*\"(\\d+)\"[^{}\\[]*?\"name\"\\s*:\\s*\"([^\"]*)\"").matcher(dump);
                while (m.find()) {
                    if (m.group(2).startsWith(prefix)) {
                        names.add(m.group(2) + " (tid " + m.group(1) + ")");
                    }
                }
                if (!dump.contains("\"threadContainers\"")) {
                    fail("not a JSON thread dump: " + dump.substring(0, Math.min(200, dump.length())));
                }
                return names;
            } finally {
                java.nio.file.Files.deleteIfExists(file);
                java.nio.file.Files.deleteIfExists(dir);
            }
        } catch (ReflectiveOperationException | java.io.IOException e) {
            throw new AssertionError("cannot dump the threads", e);
        }
    }

    /** What each fd is (its /proc/self/fd link), for a failure message. */
    public static String describeFds(java.util.Set<Integer> fds) {
        return fds.stream().sorted().map(fd -> {
            try {
                return fd + " -> " + Files.readSymbolicLink(Path.of("/proc/self/fd", fd.toString()));
            } catch (IOException | UnsupportedOperationException e) {
                return fd + " (" + e + ")";
            }
        }).collect(Collectors.joining(", ", "[", "]"));
    }

    /** The soft RLIMIT_NOFILE as the JVM sees it (after its own raise to the hard limit), or -1. */
    public static long maxFds() {
        Object os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.UnixOperatingSystemMXBean
                ? ((com.sun.management.UnixOperatingSystemMXBean) os).getMaxFileDescriptorCount() : -1;
    }

    // ------------------------------------------------------------------------------------- JFR

    /** A JFR recording of {@code jdk.VirtualThreadPinned} with threshold 0: every pinned park counts. */
    public static final class PinnedRecording implements AutoCloseable {
        private final Recording recording = new Recording();

        private PinnedRecording() {
            recording.enable(PINNED).withThreshold(Duration.ZERO).withStackTrace();
            recording.setName("polyplex-virtual-thread-pinning");
        }

        public static PinnedRecording start() {
            PinnedRecording r = new PinnedRecording();
            r.recording.start();
            return r;
        }

        /** Stops, dumps to a temporary file, and reads the pinned events back from it. */
        public List<RecordedEvent> stopAndRead() throws IOException {
            recording.stop();
            Path file = Files.createTempFile("polyplex-pinned-", ".jfr");
            try {
                recording.dump(file);
                List<RecordedEvent> pinned = new ArrayList<>();
                for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                    if (e.getEventType().getName().equals(PINNED)) {
                        pinned.add(e);
                    }
                }
                return pinned;
            } finally {
                Files.deleteIfExists(file);
            }
        }

        @Override
        public void close() {
            recording.close();
        }
    }

    /** Asserts that a recording holds no pinned event, showing the first few stacks if it does. */
    public static void assertNoPinning(List<RecordedEvent> pinned, String what) {
        if (!pinned.isEmpty()) {
            fail(what + ": " + pinned.size() + " " + PINNED + " events, e.g.:\n" + pinned.stream().limit(3)
                    .map(VirtualThreadSupport::describe).collect(Collectors.joining("\n")));
        }
    }

    /** An event's duration and the top of its stack. */
    public static String describe(RecordedEvent e) {
        String stack = e.getStackTrace() == null ? "(no stack)"
                : e.getStackTrace().getFrames().stream().limit(12).map(VirtualThreadSupport::frame)
                        .collect(Collectors.joining("\n      "));
        return "  " + e.getDuration().toMillis() + " ms pinned at\n      " + stack;
    }

    /** Whether any frame of the event's stack is in a method of {@code type}. */
    public static boolean stackHas(RecordedEvent e, Class<?> type) {
        return e.getStackTrace() != null && e.getStackTrace().getFrames().stream()
                .anyMatch(f -> f.getMethod().getType().getName().equals(type.getName()));
    }

    private static String frame(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName() + ":" + f.getLineNumber();
    }

    // ------------------------------------------------------------------------------ sockets

    /**
     * N sockets, each read by one thread, and a way to make socket i readable. Either AF_UNIX
     * socketpairs (2N fds) or, where the fd limit cannot hold 2N, N UDP sockets on 127.0.0.1 and one
     * more that sends to each (N + 1 fds).
     */
    public abstract static class Readers implements AutoCloseable {
        final NativeSocketChannel[] sockets;

        Readers(int n) {
            sockets = new NativeSocketChannel[n];
        }

        /** Socket i, which its thread reads. */
        public NativeSocketChannel socket(int i) {
            return sockets[i];
        }

        public int size() {
            return sockets.length;
        }

        /** Makes socket i readable with these bytes. */
        public abstract void send(int i, ByteBuffer bytes) throws IOException;

        /** What kind of sockets these are, for the report. */
        public abstract String kind();

        @Override
        public void close() throws IOException {
            for (NativeSocketChannel s : sockets) {
                if (s != null) {
                    s.close();
                }
            }
        }

        /** N socketpairs: the readers are the pairs' [0] ends, the data goes in at the [1] ends. */
        public static Readers socketPairs(int n) throws IOException {
            NativeSocketChannel[] peers = new NativeSocketChannel[n];
            Readers r = new Readers(n) {
                @Override
                public void send(int i, ByteBuffer bytes) throws IOException {
                    while (bytes.hasRemaining()) {
                        if (NativeSockets.send(peers[i].getFD(), bytes) == 0) {
                            fail("send buffer of a new socketpair full");
                        }
                    }
                }

                @Override
                public String kind() {
                    return "AF_UNIX socketpairs";
                }

                @Override
                public void close() throws IOException {
                    super.close();
                    for (NativeSocketChannel p : peers) {
                        if (p != null) {
                            p.close();
                        }
                    }
                }
            };
            try {
                for (int i = 0; i < n; i++) {
                    NativeSocketChannel[] pair = NativeSockets.socketPair();
                    r.sockets[i] = pair[0];
                    peers[i] = pair[1];
                }
            } catch (IOException | RuntimeException e) {
                r.close();
                throw e;
            }
            return r;
        }

        /**
         * N non-blocking UDP sockets bound to 127.0.0.1, and one more that sends to each (connected
         * to it first: a native socket, where a JDK DatagramChannel would leave an fd of the JDK's own
         * open for good, which the leak checks would count).
         */
        public static Readers udp(int n) throws IOException {
            InetSocketAddress[] addresses = new InetSocketAddress[n];
            NativeSocketChannel sender = udpSocket();
            Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, 128, true);
            Readers r = new Readers(n) {
                @Override
                public void send(int i, ByteBuffer bytes) throws IOException {
                    int len = SocketCalls.encode(addresses[i].getAddress(), addresses[i].getPort(), sa);
                    int fd = sender.getFD();
                    if (SocketLibrary.INSTANCE.connect(fd, sa, len) < 0) {
                        throw new IOException("connect(fd=" + fd + ", " + addresses[i] + "): errno "
                                + SocketLibrary.RUNTIME.getLastError());
                    }
                    int sent = bytes.remaining();
                    assertEquals(sent, NativeSockets.send(fd, bytes), "datagram to socket " + i);
                }

                @Override
                public String kind() {
                    return "UDP sockets on 127.0.0.1";
                }

                @Override
                public void close() throws IOException {
                    super.close();
                    sender.close();
                }
            };
            try {
                for (int i = 0; i < n; i++) {
                    r.sockets[i] = udpSocket();
                    addresses[i] = (InetSocketAddress) NativeSockets.localAddress(r.sockets[i].getFD());
                }
            } catch (IOException | RuntimeException e) {
                r.close();
                throw e;
            }
            return r;
        }

        private static NativeSocketChannel udpSocket() throws IOException {
            SocketLibrary lib = SocketLibrary.INSTANCE;
            int fd = lib.socket(AddressFamily.AF_INET.intValue(), Sock.SOCK_DGRAM.intValue(), 0);
            if (fd < 0) {
                throw new IOException("socket(AF_INET, SOCK_DGRAM): errno " + SocketLibrary.RUNTIME.getLastError());
            }
            NativeSocketChannel ch = new NativeSocketChannel(fd);
            try {
                int flags = lib.fcntl(fd, Fcntl.F_GETFL.intValue(), 0);
                if (flags < 0 || lib.fcntl(fd, Fcntl.F_SETFL.intValue(), flags | OpenFlags.O_NONBLOCK.intValue()) < 0
                        || lib.fcntl(fd, Fcntl.F_SETFD.intValue(), 1) < 0) { // FD_CLOEXEC
                    throw new IOException("fcntl(fd=" + fd + "): errno " + SocketLibrary.RUNTIME.getLastError());
                }
                Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, 128, true);
                int len = SocketCalls.encode(InetAddress.getByName("127.0.0.1"), 0, sa);
                if (lib.bind(fd, sa, len) < 0) {
                    throw new IOException("bind(fd=" + fd + ", 127.0.0.1:0): errno " + SocketLibrary.RUNTIME.getLastError());
                }
                return ch;
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }
    }
}
