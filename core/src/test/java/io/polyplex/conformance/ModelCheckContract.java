package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.fail;

import io.polyplex.Capability;
import io.polyplex.ClosedEventQueueException;
import io.polyplex.EventQueue;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A randomized model check of the whole contract, on real sockets and real threads.
 *
 * <p>A seed fixes everything a run chooses: how many sockets and threads (2 to 4: one or two
 * pollers, one to three mutators), every thread's sequence of operations and timeouts, and when
 * the queue is closed. Mutators subscribe, disable and remove in every trigger the queue offers,
 * make the peer write, half-close or reset, close sockets without removing them (the next socket
 * then usually gets the same fd number, and a late remove of the old one must leave the new one
 * alone), and wake the queue; pollers poll with every kind of timeout, and their handler reads what
 * arrived and sometimes changes the socket's interest, as a server does. The last round closes
 * the queue while the others are busy.
 *
 * <p>A reference model, kept under one lock with a sequence number for every action, checks every
 * event a poll delivers. While threads race, an event must be allowed by some state of the model
 * between the start of its poll and its delivery: the socket subscribed and enabled for each
 * reported direction, ready (data not yet read, a half-close or a reset; PEER_CLOSED and ERROR only
 * after those), the current owner of its fd (never a socket closed before the poll began); an
 * edge-triggered socket reported again only after something new happened to it, a one-shot one
 * only after it was armed again. Between rounds every thread stops, and the check is exact: each
 * one-shot socket is armed afresh, every socket that can read is given one new byte (arrived before
 * polling), and then every socket that is ready, subscribed and enabled must be reported within
 * {@link #LIVENESS_POLLS} polls, a one-shot or edge-triggered one exactly once, and nothing else at
 * all. After the close, every call and every blocked poll ends in {@link
 * ClosedEventQueueException}, and no fd is left open.
 *
 * <p>A failed run names its seed (every wait in a run is bounded, so a run that hangs fails too).
 * The CI budget runs quietly; a run asked for on the command line (either property below) prints
 * each seed as it starts. {@code -Dpolyplex.modelcheck.seed=N} replays one run: the same
 * choices in the same order on each thread (the threads' interleaving is the kernel's and the
 * scheduler's, so a race may need a few replays; the failure shows the last actions in order).
 * {@code -Dpolyplex.modelcheck.runs=N} sets the budget (CI: {@link #CI_RUNS} per backend). The
 * tests are tagged {@code model-check}: {@code mvn -pl backend-epoll test -Dtest=EpollConformanceTest
 * -Dgroups=model-check -Dpolyplex.modelcheck.runs=500} runs only them, longer.
 */
@Tag("model-check")
@Timeout(value = 600, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class ModelCheckContract extends ContractBase {

    static final int CI_RUNS = 50;
    static final int LIVENESS_POLLS = 8;

    @Test
    void randomRunsAgreeWithTheModel() throws Exception {
        String replay = System.getProperty("polyplex.modelcheck.seed");
        int runs = replay != null ? 1 : Integer.getInteger("polyplex.modelcheck.runs", CI_RUNS);
        long base = replay != null ? Long.decode(replay) : new Random().nextLong() & 0xffff_ffff_ffffL;
        boolean printSeeds = replay != null || System.getProperty("polyplex.modelcheck.runs") != null;
        for (int i = 0; i < runs; i++) {
            long seed = base + i;
            String where = queue.backend() + " (" + getClass().getName().replace('$', '.') + ")";
            if (printSeeds) {
                System.out.println("model check on " + where + ": seed " + seed);
            }
            Run run = new Run(seed);
            String failure = run.run();
            if (failure != null) {
                fail("model check on " + where + " failed with seed " + seed + " (replay: -Dpolyplex.modelcheck.seed="
                        + seed + "):\n" + failure);
            }
        }
    }

    // ------------------------------------------------------------------------------- the model

    /** One socket of the run: ours (watched) and its peer, and all the model knows of them. */
    private static final class Sock {
        final int id;
        final NativeSocketChannel ours;
        final NativeSocketChannel peer;
        final int fd;
        final boolean tcp;
        int subscribed;
        int disabled;
        Trigger trigger = Trigger.LEVEL;
        /** A one-shot delivery while threads raced may or may not have disarmed it (see below). */
        boolean disarmUnknown;
        /** The enabled directions over time: {seq, enabled bits, trigger ordinal}. */
        final List<long[]> history = new ArrayList<>();
        long closedSeq = -1;
        long pending;
        long zeroSince = -1;
        long eofSeq = -1;
        long resetSeq = -1;
        long lastRaise = -1;
        long lastTriggerChange = -1;
        long lastArm = -1;
        long prevReadP = Long.MIN_VALUE;
        long prevWriteP = Long.MIN_VALUE;
        long prevOneShotP = Long.MIN_VALUE;
        int phaseReports;
        boolean phaseRaised;

        Sock(int id, NativeSocketChannel ours, NativeSocketChannel peer, boolean tcp) {
            this.id = id;
            this.ours = ours;
            this.peer = peer;
            this.fd = ours.getFD();
            this.tcp = tcp;
            history.add(new long[] {0, 0, Trigger.LEVEL.ordinal()});
        }

        int enabled() {
            return subscribed & ~disabled;
        }

        boolean live() {
            return closedSeq < 0;
        }

        boolean peerCanWrite() {
            return eofSeq < 0 && resetSeq < 0;
        }

        void record(long seq) {
            history.add(new long[] {seq, enabled(), trigger.ordinal()});
        }

        /** Whether direction {@code dir} was enabled at some moment in [p, h]. */
        boolean enabledDuring(int dir, long p, long h) {
            for (int i = history.size() - 1; i >= 0; i--) {
                long[] e = history.get(i);
                if (e[0] <= h && (e[1] & dir) != 0) {
                    return true;
                }
                if (e[0] <= p) {
                    return false; // the state that was current at p, and nothing earlier counts
                }
            }
            return false;
        }

        /** Whether the trigger was {@code t} throughout [p, h]. */
        boolean triggerThroughout(Trigger t, long p, long h) {
            for (int i = history.size() - 1; i >= 0; i--) {
                long[] e = history.get(i);
                if (e[0] <= h && e[2] != t.ordinal()) {
                    return false;
                }
                if (e[0] <= p) {
                    return true;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return "sock " + id + " (fd " + fd + ")";
        }
    }

    private enum Phase { RACING, QUIET, CLOSED }

    /** One seeded run: a queue, its sockets, its threads, the model and what went wrong. */
    private final class Run {
        final long seed;
        final Random rnd;
        final Object lock = new Object();
        long seq; // guarded by lock
        final Deque<String> trace = new ArrayDeque<>(); // guarded by lock
        final List<Sock> slots = new ArrayList<>();
        final List<Sock> dead = new ArrayList<>();
        final List<AutoCloseable> opened = new ArrayList<>();
        volatile String violation;
        volatile Phase phase = Phase.RACING;
        volatile boolean pausePollers;
        volatile boolean stop;
        EventQueue<NativeSocketChannel> q;
        NativeServerSocketChannel listener;
        InetSocketAddress listenAt;
        boolean edge;
        int nextId;

        Run(long seed) {
            this.seed = seed;
            this.rnd = new Random(seed);
        }

        void violate(String what) {
            synchronized (lock) {
                if (violation == null) {
                    List<String> last = new ArrayList<>(trace);
                    violation = what + "\nlast actions (oldest first):\n  "
                            + String.join("\n  ", last.subList(Math.max(0, last.size() - 60), last.size()));
                }
                stop = true;
            }
        }

        /** The sequence number now: no action is half done, since each is made under the lock. */
        long seqNow() {
            synchronized (lock) {
                return seq;
            }
        }

        /** Starts an action: takes the next sequence number and traces it. Call under lock. */
        long act(String what) {
            long s = ++seq;
            trace.addLast(s + " " + Thread.currentThread().getName() + " " + what);
            if (trace.size() > 400) {
                trace.removeFirst();
            }
            return s;
        }

        String run() throws Exception {
            Set<Integer> before = ContractBase.fdNumbers();
            try {
                body();
            } catch (Throwable t) {
                if (violation == null) {
                    java.io.StringWriter w = new java.io.StringWriter();
                    t.printStackTrace(new java.io.PrintWriter(w));
                    violate("the run itself failed: " + w);
                }
            } finally {
                stop = true;
                if (q != null) {
                    q.close();
                }
                for (int i = opened.size() - 1; i >= 0; i--) {
                    try {
                        opened.get(i).close();
                    } catch (Exception e) {
                        // closing the test's own sockets: nothing to learn
                    }
                }
            }
            if (violation == null) {
                Set<Integer> left = ContractBase.newFds(before);
                if (!left.isEmpty()) {
                    violate("fds left open after the run: " + left);
                }
            }
            return violation;
        }

        void body() throws Exception {
            int sockets = 3 + rnd.nextInt(5);
            int threads = 2 + rnd.nextInt(3);
            int pollers = threads >= 3 && rnd.nextBoolean() ? 2 : 1;
            int mutators = threads - pollers;
            int rounds = 2 + rnd.nextInt(3);
            int opsPerRound = 20 + rnd.nextInt(40);
            q = open(NativeSelectableChannel::getFD);
            edge = q.capabilities().contains(Capability.EDGE_TRIGGERED);
            listener = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 64);
            opened.add(listener);
            listenAt = (InetSocketAddress) NativeSockets.localAddress(listener.getFD());
            synchronized (lock) {
                act("run: seed " + seed + ", " + sockets + " sockets, " + pollers + " poller(s), " + mutators
                        + " mutator(s), " + rounds + " rounds of " + opsPerRound + " ops, edge=" + edge);
                for (int i = 0; i < sockets; i++) {
                    slots.add(newSock());
                }
            }
            CyclicBarrier quiet = new CyclicBarrier(pollers + mutators + 1);
            CyclicBarrier resume = new CyclicBarrier(pollers + mutators + 1);
            int closeAt = rnd.nextInt(opsPerRound);
            List<Thread> all = new ArrayList<>();
            AtomicInteger pollersOut = new AtomicInteger();
            for (int i = 0; i < pollers; i++) {
                Random r = new Random(seed * 31 + 1000 + i);
                Thread t = new Thread(() -> poller(r, rounds, quiet, resume, pollersOut), "poller-" + i);
                all.add(t);
            }
            for (int i = 0; i < mutators; i++) {
                Random r = new Random(seed * 31 + i);
                boolean closer = i == 0;
                Thread t = new Thread(() -> mutator(r, rounds, opsPerRound, closer ? closeAt : -1, quiet, resume),
                        "mutator-" + i);
                all.add(t);
            }
            for (Thread t : all) {
                t.setDaemon(true);
                t.start();
            }
            for (int round = 0; round < rounds - 1 && !stop; round++) {
                // Racing: the threads work; then every thread stops for the exact check.
                awaitQuiet(quiet);
                if (!stop) {
                    phase = Phase.QUIET;
                    exactCheck();
                    phase = Phase.RACING;
                }
                pausePollers = false;
                if (!stop) {
                    await(resume);
                }
            }
            if (stop) {
                // Something failed: release every thread (barriers broken, polls ended by the close).
                quiet.reset();
                resume.reset();
                q.close();
            }
            // The last round ends with the close (made by mutator-0).
            long deadline = System.nanoTime() + EVENTUALLY.toNanos();
            for (Thread t : all) {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                if (t.isAlive()) {
                    violate(t.getName() + " did not end within " + EVENTUALLY + " of the close: "
                            + java.util.Arrays.toString(t.getStackTrace()));
                    return;
                }
            }
        }

        /** Waits until mutators have finished their round, and wakes pollers until they stop too. */
        void awaitQuiet(CyclicBarrier quiet) throws Exception {
            if (stop) {
                return;
            }
            pausePollers = true;
            long deadline = System.nanoTime() + EVENTUALLY.toNanos();
            while (quiet.getNumberWaiting() < quiet.getParties() - 1 && !stop) {
                q.wakeup(); // a poller blocked with no timeout must hear of the pause
                if (System.nanoTime() > deadline) {
                    violate("threads did not stop within " + EVENTUALLY + " (" + quiet.getNumberWaiting() + " of "
                            + (quiet.getParties() - 1) + "): a wakeup did not end a poll?");
                    quiet.reset();
                    return;
                }
                LockSupport.parkNanos(1_000_000);
            }
            await(quiet);
        }

        void await(CyclicBarrier b) {
            try {
                b.await(EVENTUALLY.toSeconds() * 3, TimeUnit.SECONDS);
            } catch (Exception e) {
                stop = true;
            }
        }

        // ------------------------------------------------------------------ sockets

        /** A new connected pair, TCP or AF_UNIX (only TCP can be reset); ours is either end. Under lock. */
        Sock newSock() throws IOException {
            boolean tcp = rnd.nextBoolean();
            NativeSocketChannel a;
            NativeSocketChannel b;
            if (tcp) {
                b = NativeSockets.connect(listenAt);
                opened.add(b);
                a = null;
                long deadline = System.nanoTime() + EVENTUALLY.toNanos();
                while (a == null && System.nanoTime() < deadline) {
                    a = NativeSockets.accept(listener);
                }
                if (a == null) {
                    throw new IOException("accept after connect did not return in " + EVENTUALLY);
                }
                opened.add(a);
            } else {
                NativeSocketChannel[] p = NativeSockets.socketPair();
                a = p[0];
                b = p[1];
                opened.add(a);
                opened.add(b);
            }
            boolean flip = rnd.nextBoolean();
            Sock s = new Sock(nextId++, flip ? b : a, flip ? a : b, tcp);
            act("new " + s + (tcp ? " tcp" : " unix"));
            return s;
        }

        // ------------------------------------------------------------------ mutators

        void mutator(Random r, int rounds, int opsPerRound, int closeAt, CyclicBarrier quiet, CyclicBarrier resume) {
            for (int round = 0; round < rounds && !stop; round++) {
                boolean last = round == rounds - 1;
                for (int i = 0; i < opsPerRound && !stop; i++) {
                    if (last && i == closeAt) {
                        synchronized (lock) {
                            act("close the queue");
                            phase = Phase.CLOSED;
                        }
                        q.close();
                        continue;
                    }
                    try {
                        mutate(r);
                    } catch (ClosedEventQueueException e) {
                        if (phase != Phase.CLOSED) {
                            violate(Thread.currentThread().getName() + ": " + e + " though the queue is open");
                        }
                    } catch (Throwable e) {
                        violate(Thread.currentThread().getName() + ": unexpected " + e);
                    }
                    if (r.nextInt(4) == 0) {
                        LockSupport.parkNanos(r.nextInt(200_000));
                    }
                }
                if (!last) {
                    await(quiet);
                    await(resume);
                }
            }
        }

        /** One random action of a mutator. */
        void mutate(Random r) throws IOException {
            synchronized (lock) {
                if (stop) {
                    return;
                }
                int slot = r.nextInt(slots.size());
                Sock s = slots.get(slot);
                int pick = r.nextInt(100);
                if (pick < 45) {
                    interestOp(r, s, "");
                } else if (pick < 65) {
                    peerWrite(r, s);
                } else if (pick < 69) {
                    if (s.peerCanWrite()) {
                        long n = act("shutdownOutput(peer of " + s + ")");
                        NativeSockets.shutdownOutput(s.peer.getFD());
                        s.eofSeq = n;
                        s.lastRaise = n;
                    }
                } else if (pick < 72) {
                    if (s.tcp && s.peerCanWrite()) {
                        long n = act("abort(peer of " + s + "): a reset");
                        NativeSockets.abort(s.peer);
                        s.resetSeq = n;
                        s.lastRaise = n;
                    }
                } else if (pick < 78) {
                    // Closed behind the queue's back; the next socket usually takes its fd number.
                    long n = act("close " + s + " without remove");
                    s.ours.close();
                    s.peer.close();
                    s.closedSeq = n;
                    dead.add(s);
                    if (dead.size() > 8) {
                        dead.remove(0);
                    }
                    slots.set(slot, newSock());
                } else if (pick < 82) {
                    if (!dead.isEmpty()) {
                        Sock old = dead.get(r.nextInt(dead.size()));
                        act("late remove(" + old + ", closed)");
                        q.remove(old.ours);
                        for (Sock other : slots) {
                            checkView(other, "a late remove of closed " + old);
                        }
                    }
                } else if (pick < 90) {
                    act("wakeup()");
                    q.wakeup();
                } else {
                    checkView(s, "a look");
                }
            }
        }

        /** A random change of interest, made and committed to the model under the lock. */
        void interestOp(Random r, Sock s, String by) throws IOException {
            int pick = r.nextInt(10);
            int dirs = 1 + r.nextInt(3); // READ, WRITE or both
            long n;
            switch (pick) {
                case 0 -> {
                    n = act(by + "subscribeRead(" + s + ")");
                    q.subscribeRead(s.ours);
                    subscribed(s, SocketEvent.READ, null, n);
                }
                case 1 -> {
                    n = act(by + "subscribeWrite(" + s + ")");
                    q.subscribeWrite(s.ours);
                    subscribed(s, SocketEvent.WRITE, null, n);
                }
                case 2 -> {
                    n = act(by + "subscribeReadWrite(" + s + ")");
                    q.subscribeReadWrite(s.ours);
                    subscribed(s, SocketEvent.READ | SocketEvent.WRITE, null, n);
                }
                case 3, 4 -> {
                    Trigger t = randomTrigger(r);
                    n = act(by + "subscribe(" + s + ", " + SocketEvent.opsToString(dirs) + ", " + t + ")");
                    q.subscribe(s.ours, dirs, t);
                    subscribed(s, dirs, t, n);
                }
                case 5, 6 -> {
                    n = act(by + "disable(" + s + ", " + SocketEvent.opsToString(dirs) + ")");
                    if (dirs == SocketEvent.READ) {
                        q.disableRead(s.ours);
                    } else if (dirs == SocketEvent.WRITE) {
                        q.disableWrite(s.ours);
                    } else {
                        q.disableReadWrite(s.ours);
                    }
                    s.disabled |= s.subscribed & dirs;
                    s.lastRaise = n;
                    s.record(n);
                }
                default -> {
                    n = act(by + "remove(" + s + ")");
                    q.remove(s.ours);
                    s.subscribed = 0;
                    s.disabled = 0;
                    s.disarmUnknown = false;
                    if (s.trigger != Trigger.LEVEL) {
                        s.lastTriggerChange = n;
                    }
                    s.trigger = Trigger.LEVEL;
                    s.lastRaise = n;
                    s.record(n);
                }
            }
        }

        Trigger randomTrigger(Random r) {
            int t = r.nextInt(edge ? 3 : 2);
            return t == 0 ? Trigger.LEVEL : t == 1 ? Trigger.ONE_SHOT : Trigger.EDGE;
        }

        /** The model's side of a subscribe of {@code dirs}; {@code t} null: the socket's current mode. */
        void subscribed(Sock s, int dirs, Trigger t, long n) {
            // subscribeRead and friends keep the mode of a socket the queue knows, else LEVEL.
            Trigger now = t != null ? t : s.subscribed == 0 ? Trigger.LEVEL : s.trigger;
            boolean wasOneShot = s.trigger == Trigger.ONE_SHOT;
            if (now != s.trigger) {
                s.lastTriggerChange = n;
            }
            s.trigger = now;
            s.subscribed |= dirs;
            s.disabled &= ~dirs;
            s.lastRaise = n;
            s.lastArm = n;
            if (s.subscribed == dirs) {
                s.disarmUnknown = false; // every subscribed direction was just enabled: known again
            } else if (wasOneShot) {
                s.disarmUnknown = true; // an event of the one-shot may be on its way, disarming the others
            }
            s.record(n);
        }

        void peerWrite(Random r, Sock s) throws IOException {
            if (!s.peerCanWrite()) {
                return;
            }
            int len = 1 + r.nextInt(100);
            long n = act("peer of " + s + " writes " + len + " bytes");
            ByteBuffer b = ByteBuffer.allocate(len);
            int sent = NativeSockets.send(s.peer.getFD(), b);
            s.pending += sent;
            if (sent > 0) {
                s.lastRaise = n;
            }
        }

        /** The queue's own view of {@code s} agrees with the model (the disabled bits of a one-shot aside). */
        void checkView(Sock s, String after) {
            if (!s.live() || phase == Phase.CLOSED) {
                return;
            }
            int sub = (q.isSubscribedRead(s.ours) ? SocketEvent.READ : 0) | (q.isSubscribedWrite(s.ours) ? SocketEvent.WRITE : 0);
            int dis = (q.isDisabledRead(s.ours) ? SocketEvent.READ : 0) | (q.isDisabledWrite(s.ours) ? SocketEvent.WRITE : 0);
            // While threads race, a one-shot event may be on its way to a handler: core disarmed
            // the socket when the wait returned, and the model hears of it only in the handler.
            boolean disabledKnown = !s.disarmUnknown && (phase != Phase.RACING || s.trigger != Trigger.ONE_SHOT);
            if (sub != s.subscribed || disabledKnown && dis != s.disabled) {
                violate("after " + after + ": the queue says " + s + " is subscribed " + SocketEvent.opsToString(sub)
                        + ", disabled " + SocketEvent.opsToString(dis) + "; the model says " + SocketEvent.opsToString(s.subscribed)
                        + ", disabled " + SocketEvent.opsToString(s.disabled));
            }
        }

        // ------------------------------------------------------------------ pollers

        void poller(Random r, int rounds, CyclicBarrier quiet, CyclicBarrier resume, AtomicInteger out) {
            int round = 0;
            try {
                while (!stop) {
                    if (pausePollers && round < rounds - 1) {
                        await(quiet);
                        await(resume);
                        round++;
                        continue;
                    }
                    Duration timeout = switch (r.nextInt(4)) {
                        case 0 -> Duration.ZERO;
                        case 1 -> Duration.ofMillis(1 + r.nextInt(5));
                        case 2 -> Duration.ofMillis(50);
                        default -> null; // no limit: only an event, a wakeup or the close ends it
                    };
                    long p = seqNow();
                    q.poll(timeout, (socket, ops) -> onEvent(r, socket, ops, p, false));
                }
            } catch (ClosedEventQueueException e) {
                if (phase != Phase.CLOSED && !stop) {
                    violate(Thread.currentThread().getName() + ": " + e + " though the queue is open");
                }
            } catch (Throwable e) {
                violate(Thread.currentThread().getName() + ": poll threw " + e);
            } finally {
                out.incrementAndGet();
            }
        }

        /** Checks one delivered event against the model, then acts as a server would. */
        void onEvent(Random r, NativeSocketChannel socket, int ops, long p, boolean exact) {
            synchronized (lock) {
                long h = act("event " + SocketEvent.opsToString(ops) + " on fd " + socket.getFD() + " (poll from " + p + ")");
                Sock s = find(socket);
                if (s == null) {
                    violate("an event for a socket the run never made: fd " + socket.getFD());
                    return;
                }
                String bad = exact ? exactRule(s, ops) : racingRule(s, ops, p, h);
                if (bad != null) {
                    violate(SocketEvent.opsToString(ops) + " for " + s + (exact ? " (threads stopped)" : " (poll from " + p + " to " + h + ")")
                            + ": " + bad);
                    return;
                }
                if ((ops & SocketEvent.READ) != 0) {
                    s.prevReadP = p;
                }
                if ((ops & SocketEvent.WRITE) != 0) {
                    s.prevWriteP = p;
                }
                boolean oneShot = exact ? s.trigger == Trigger.ONE_SHOT : !s.triggerThroughout(Trigger.LEVEL, p, h)
                        && !s.triggerThroughout(Trigger.EDGE, p, h);
                if (oneShot) {
                    // (While threads race, the event may come from a one-shot state that another
                    // thread has replaced since: core disarmed every direction then.)
                    s.prevOneShotP = p;
                    if (exact) {
                        s.disabled = s.subscribed;
                        s.record(h);
                    } else {
                        // Core disarmed it when the wait returned, but another thread may have armed
                        // it again since: the model cannot tell, and stays lenient until the next
                        // exact check arms it afresh.
                        s.disarmUnknown = true;
                    }
                }
                s.phaseReports++;
                if ((ops & SocketEvent.READ) != 0 && s.live()) {
                    drain(s, h);
                }
                if (!exact && r != null && r.nextInt(4) == 0 && s.live()) {
                    try {
                        interestOp(r, s, "handler: ");
                    } catch (ClosedEventQueueException e) {
                        if (phase != Phase.CLOSED) {
                            violate("handler: " + e + " though the queue is open");
                        }
                    } catch (IOException | RuntimeException e) {
                        violate("handler: unexpected " + e);
                    }
                }
            }
        }

        Sock find(NativeSocketChannel socket) {
            for (Sock s : slots) {
                if (s.ours == socket) {
                    return s;
                }
            }
            for (Sock s : dead) {
                if (s.ours == socket) {
                    return s;
                }
            }
            return null;
        }

        /** What may be reported while threads race: allowed by some state between p and h. */
        String racingRule(Sock s, int ops, long p, long h) {
            if (s.closedSeq >= 0 && s.closedSeq <= p) {
                return "closed at " + s.closedSeq + ", before the poll began: not the owner of fd " + s.fd;
            }
            if ((ops & (SocketEvent.READ | SocketEvent.WRITE)) == 0) {
                return "neither READ nor WRITE";
            }
            for (int dir = SocketEvent.READ; dir <= SocketEvent.WRITE; dir <<= 1) {
                if ((ops & dir) != 0 && !s.enabledDuring(dir, p, h)) {
                    return SocketEvent.opsToString(dir) + " was not subscribed and enabled at any time during the poll";
                }
            }
            String readiness = readiness(s, ops, p);
            if (readiness != null) {
                return readiness;
            }
            if (s.triggerThroughout(Trigger.EDGE, p, h)) {
                // Again only after something new: data, a close, a reset, or a change of interest
                // (which makes epoll and kqueue look at the socket afresh).
                if ((ops & SocketEvent.READ) != 0 && s.prevReadP != Long.MIN_VALUE && s.lastTriggerChange < s.prevReadP
                        && s.lastRaise < s.prevReadP) {
                    return "edge-triggered READ again, with nothing new since the poll of the last one (from " + s.prevReadP + ")";
                }
                if ((ops & SocketEvent.WRITE) != 0 && s.prevWriteP != Long.MIN_VALUE && s.lastTriggerChange < s.prevWriteP
                        && s.lastRaise < s.prevWriteP) {
                    return "edge-triggered WRITE again, with nothing new since the poll of the last one (from " + s.prevWriteP + ")";
                }
            }
            if (s.triggerThroughout(Trigger.ONE_SHOT, p, h) && s.prevOneShotP != Long.MIN_VALUE
                    && s.lastTriggerChange < s.prevOneShotP && s.lastArm < s.prevOneShotP) {
                return "one-shot reported again, not armed since the poll of the last report (from " + s.prevOneShotP + ")";
            }
            return null;
        }

        /** Readiness, shared by both rules: READ needs data, an end of stream or a reset; the flags need their cause. */
        String readiness(Sock s, int ops, long p) {
            boolean readable = s.pending > 0 || s.zeroSince >= p || s.eofSeq >= 0 || s.resetSeq >= 0;
            if ((ops & SocketEvent.READ) != 0 && !readable) {
                return "READ, but nothing was there to read during the poll (no data, no end of stream, no reset)";
            }
            if ((ops & SocketEvent.PEER_CLOSED) != 0 && s.eofSeq < 0 && s.resetSeq < 0) {
                return "PEER_CLOSED, but the peer neither closed nor reset";
            }
            if ((ops & SocketEvent.ERROR) != 0 && s.resetSeq < 0) {
                return "ERROR, but nothing failed";
            }
            return null;
        }

        /** What may be reported when no other thread acts: exactly the model's current state. */
        String exactRule(Sock s, int ops) {
            if (!s.live()) {
                return "closed (at " + s.closedSeq + ") before the threads stopped";
            }
            int dirs = ops & (SocketEvent.READ | SocketEvent.WRITE);
            if (dirs == 0) {
                return "neither READ nor WRITE";
            }
            if ((dirs & ~s.enabled()) != 0) {
                return "not subscribed and enabled for " + SocketEvent.opsToString(dirs & ~s.enabled()) + " (subscribed "
                        + SocketEvent.opsToString(s.subscribed) + ", disabled " + SocketEvent.opsToString(s.disabled) + ", "
                        + s.trigger + ")";
            }
            String readiness = readiness(s, ops, Long.MAX_VALUE); // now, exactly: no earlier data counts
            if (readiness != null) {
                return readiness;
            }
            if (s.trigger != Trigger.LEVEL && s.phaseReports > 0) {
                return s.trigger + " socket reported a second time, with nothing new and not armed again";
            }
            return null;
        }

        /** Reads what arrived, as a server's handler would; the model's pending count follows. */
        void drain(Sock s, long h) {
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            try {
                while (true) {
                    b.clear();
                    int n = NativeSockets.recv(s.fd, b);
                    if (n <= 0) {
                        break;
                    }
                    s.pending -= n;
                    if (s.pending < 0) {
                        violate(s + ": read more bytes than the peer wrote");
                        return;
                    }
                }
            } catch (IOException e) {
                if (s.resetSeq < 0) {
                    violate(s + ": recv failed though nothing was reset: " + e);
                    return;
                }
            }
            if (s.pending == 0) {
                s.zeroSince = h;
            }
        }

        // ------------------------------------------------------------------ the exact check

        /**
         * With every thread stopped: arm each one-shot afresh, read everything, give each socket
         * that can read one new byte (arrived), then poll until everything ready, subscribed and
         * enabled has been reported, checking every event exactly.
         */
        void exactCheck() throws IOException {
            List<Sock> expectRead = new ArrayList<>();
            List<Sock> expectWrite = new ArrayList<>();
            synchronized (lock) {
                act("threads stopped: exact check");
                for (Sock s : slots) {
                    s.phaseReports = 0;
                    s.phaseRaised = false;
                    settle(s);
                    if (s.subscribed != 0 && (s.trigger == Trigger.ONE_SHOT || s.disarmUnknown)) {
                        // A one-shot delivered while threads raced may or may not be disarmed: arm
                        // it afresh, so that from here the model knows exactly.
                        long n = act("arm " + s + " afresh: subscribe(" + SocketEvent.opsToString(s.subscribed) + ", " + s.trigger + ")");
                        q.subscribe(s.ours, s.subscribed, s.trigger);
                        subscribed(s, s.subscribed, s.trigger, n);
                    }
                    checkView(s, "the threads stopped");
                    if ((s.enabled() & SocketEvent.READ) != 0 && s.peerCanWrite()) {
                        long n = act("peer of " + s + " writes 1 byte (a new edge)");
                        int sent = NativeSockets.send(s.peer.getFD(), ByteBuffer.allocate(1));
                        s.pending += sent;
                        s.lastRaise = n;
                        s.phaseRaised = sent == 1;
                        awaitArrival(s);
                    }
                    boolean readable = s.pending > 0 || s.eofSeq >= 0 || s.resetSeq >= 0;
                    if ((s.enabled() & SocketEvent.READ) != 0 && readable && (s.trigger != Trigger.EDGE || s.phaseRaised)) {
                        expectRead.add(s);
                    }
                    if ((s.enabled() & SocketEvent.WRITE) != 0 && s.trigger != Trigger.EDGE) {
                        expectWrite.add(s);
                    }
                }
            }
            if (violation != null) {
                return;
            }
            List<Sock> seenRead = new ArrayList<>();
            List<Sock> seenWrite = new ArrayList<>();
            int polls = 0;
            while (polls < LIVENESS_POLLS && violation == null
                    && !(seenRead.containsAll(expectRead) && seenWrite.containsAll(expectWrite))) {
                polls++;
                long p = seqNow();
                q.poll(Duration.ofSeconds(2), (socket, ops) -> {
                    onEvent(null, socket, ops, p, true);
                    Sock s = find(socket);
                    if (s != null && (ops & SocketEvent.READ) != 0) {
                        seenRead.add(s);
                    }
                    if (s != null && (ops & SocketEvent.WRITE) != 0) {
                        seenWrite.add(s);
                    }
                });
            }
            // One more look, for a second report of a one-shot or edge-triggered socket.
            long p = seqNow();
            q.poll(Duration.ofMillis(20), (socket, ops) -> onEvent(null, socket, ops, p, true));
            for (Sock s : expectRead) {
                if (!seenRead.contains(s)) {
                    violate("liveness: " + s + " (" + s.trigger + ", enabled " + SocketEvent.opsToString(s.enabled())
                            + ") had something to read but was not reported READ within " + polls + " polls");
                }
            }
            for (Sock s : expectWrite) {
                if (!seenWrite.contains(s)) {
                    violate("liveness: " + s + " (" + s.trigger + ", enabled " + SocketEvent.opsToString(s.enabled())
                            + ") was writable but not reported WRITE within " + polls + " polls");
                }
            }
            synchronized (lock) {
                act("exact check done after " + polls + " polls");
            }
        }

        /** Reads everything that was sent, so nothing is still on its way. Under lock. */
        void settle(Sock s) throws IOException {
            long deadline = System.nanoTime() + EVENTUALLY.toNanos();
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            boolean end = false;
            while (s.pending > 0 || (s.eofSeq >= 0 || s.resetSeq >= 0) && !end) {
                b.clear();
                int n;
                try {
                    n = NativeSockets.recv(s.fd, b);
                } catch (IOException e) {
                    if (s.resetSeq < 0) {
                        throw e;
                    }
                    s.pending = 0; // a reset discards what was not read
                    end = true;
                    continue;
                }
                if (n < 0) {
                    if (s.pending > 0 && s.resetSeq < 0) {
                        violate(s + ": end of stream with " + s.pending + " bytes still to come");
                        return;
                    }
                    s.pending = 0;
                    end = true;
                } else {
                    s.pending -= n;
                }
                if (System.nanoTime() > deadline) {
                    violate(s + ": " + s.pending + " bytes, or the end of stream, did not arrive within " + EVENTUALLY);
                    return;
                }
            }
            s.zeroSince = seq;
        }

        /** Waits until the byte just written can be seen at ours (peek consumes nothing). */
        void awaitArrival(Sock s) throws IOException {
            long deadline = System.nanoTime() + EVENTUALLY.toNanos();
            while (NativeSockets.peek(s.fd) != 1) {
                if (System.nanoTime() > deadline) {
                    violate(s + ": a byte written by the peer did not arrive within " + EVENTUALLY);
                    return;
                }
                Thread.onSpinWait();
            }
        }
    }
}
