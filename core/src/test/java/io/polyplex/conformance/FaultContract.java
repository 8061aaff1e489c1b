package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.polyplex.EventQueue;
import io.polyplex.NativeIOException;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import io.polyplex.internal.LibC;
import io.polyplex.internal.PollerEventQueue;
import io.polyplex.net.NativeSockets;
import io.polyplex.spi.BackendProvider;
import io.polyplex.spi.RegistrationLostException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jnr.constants.platform.Errno;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * System calls that fail on purpose. A scenario drives every public operation of a queue (open,
 * subscribe in each trigger, disable, remove, poll with and without timeout, wakeup, close) over its
 * backend's binding and core's LibC, both wrapped by {@link Faults}. A first run records every call
 * the scenario makes; then, for each of those calls and each of EINTR, EAGAIN, ENOMEM, EBADF, EMFILE
 * and ENFILE, the scenario runs again with that one call failing. After each fault:
 * <ul>
 *   <li>a transient errno (EINTR, EAGAIN) never reached the caller, and a timed poll still waited
 *       its whole time;
 *   <li>any other errno reached the caller as a {@link NativeIOException} naming the call, an fd
 *       and the errno, or was handled (a delete of something gone, a close); the operation that
 *       failed changed nothing (the queue's view equals the scenario's model of the calls that
 *       succeeded), unless the backend said it lost the registration ({@link
 *       RegistrationLostException}), and then the socket is forgotten;
 *   <li>the interest table and the kernel set agree: with every socket made readable, exactly the
 *       subscribed and enabled directions are reported, with no PEER_CLOSED or ERROR on a healthy
 *       socket;
 *   <li>the queue keeps working, and closing it leaves no fd open; a failure while opening leaves
 *       nothing open and the open fails cleanly.
 * </ul>
 * No errno is fatal to a queue that opened: each failed call is reported or handled, and the next
 * one works. (A real EBADF on the queue's own kernel object would mean someone closed it behind the
 * queue's back; every later call would then fail the same way, and the caller should close it.)
 */
@Timeout(value = 600, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class FaultContract {

    /** The backend under test, its binding wrapped by {@code faults}. */
    protected abstract BackendProvider provider(Faults faults);

    static final String[] ERRNOS = {"EINTR", "EAGAIN", "ENOMEM", "EBADF", "EMFILE", "ENFILE"};

    private static boolean transientErrno(String name) {
        return name.equals("EINTR") || name.equals("EAGAIN") || name.equals("EWOULDBLOCK");
    }

    /** What the scenario believes of one socket: the calls that succeeded, replayed. */
    private static final class Model {
        int subscribed;
        int disabled;
        Trigger trigger = Trigger.LEVEL;
        boolean known;

        int enabled() {
            return subscribed & ~disabled;
        }
    }

    /** One run of the scenario: a queue, three socket pairs, the model, what went wrong. */
    private final class Run {
        final Faults faults;
        final String errno;
        final List<NativeSocketChannel[]> pairs = new ArrayList<>();
        final Map<NativeSocketChannel, Model> model = new LinkedHashMap<>();
        EventQueue<NativeSocketChannel> queue;
        final List<String> problems = new ArrayList<>();

        Run(Faults faults, String errno) {
            this.faults = faults;
            this.errno = errno;
        }

        NativeSocketChannel ours(int i) {
            return pairs.get(i)[0];
        }

        /**
         * Runs one operation; a failure must be a NativeIOException naming the injected errno (or
         * nothing reaches the caller at all). Returns whether it succeeded.
         */
        boolean step(String name, Op op) {
            try {
                op.run();
                return true;
            } catch (RegistrationLostException lost) {
                checkNamed(name, lost);
                throw new LostSocket(lost);
            } catch (NativeIOException e) {
                checkNamed(name, e);
                return false;
            } catch (IOException | RuntimeException e) {
                problems.add(name + ": " + e + " is not a NativeIOException naming the call, the fd and the errno");
                return false;
            }
        }

        private void checkNamed(String name, NativeIOException e) {
            if (transientErrno(e.errnoName())) {
                problems.add(name + ": the transient " + e.errnoName() + " reached the caller: " + e.getMessage());
            } else if (!e.errnoName().equals(errno) || !e.getMessage().contains("fd=") || !e.getMessage().contains(errno)) {
                problems.add(name + ": " + e.getMessage() + " does not name the fd and the injected " + errno);
            }
        }

        /** A change: on success the model takes it, on failure the queue's view must be unchanged. */
        void change(String name, NativeSocketChannel s, Op op, java.util.function.Consumer<Model> effect) {
            Model m = model.get(s);
            try {
                if (step(name, op)) {
                    effect.accept(m);
                }
            } catch (LostSocket lost) {
                m.subscribed = 0;
                m.disabled = 0;
                m.known = false;
            }
            checkView(name, s);
        }

        void checkView(String after, NativeSocketChannel s) {
            Model m = model.get(s);
            int sub = (queue.isSubscribedRead(s) ? SocketEvent.READ : 0) | (queue.isSubscribedWrite(s) ? SocketEvent.WRITE : 0);
            int dis = (queue.isDisabledRead(s) ? SocketEvent.READ : 0) | (queue.isDisabledWrite(s) ? SocketEvent.WRITE : 0);
            if (sub != m.subscribed || dis != m.disabled) {
                problems.add("after " + after + ": the queue says subscribed " + SocketEvent.opsToString(sub)
                        + " disabled " + SocketEvent.opsToString(dis) + " for fd " + s.getFD() + ", the calls that succeeded say "
                        + SocketEvent.opsToString(m.subscribed) + " / " + SocketEvent.opsToString(m.disabled));
            }
        }
    }

    /** Thrown by {@link Run#step} when the backend lost a registration: the socket is gone. */
    private static final class LostSocket extends RuntimeException {
        LostSocket(RegistrationLostException cause) {
            super(cause);
        }
    }

    @FunctionalInterface
    interface Op {
        void run() throws IOException;
    }

    /** The scenario: every public operation once, with the model kept up to date. */
    private void scenario(Run r) throws IOException {
        LibC libc = r.faults.wrap(LibC.class, LibC.INSTANCE, LibC.RUNTIME);
        try {
            r.queue = new PollerEventQueue<>(provider(r.faults), NativeSelectableChannel::getFD, 64, libc);
        } catch (NativeIOException e) {
            r.checkNamed("open", e);
            return; // the open failed: nothing else to do (the caller checks nothing was left open)
        } catch (IOException | RuntimeException e) {
            r.problems.add("open: " + e + " is not a NativeIOException naming the call and the errno");
            return;
        }
        EventQueue<NativeSocketChannel> q = r.queue;
        for (int i = 0; i < 3; i++) {
            NativeSocketChannel[] p = NativeSockets.socketPair();
            r.pairs.add(p);
            r.model.put(p[0], new Model());
        }
        NativeSocketChannel a = r.ours(0);
        NativeSocketChannel b = r.ours(1);
        NativeSocketChannel c = r.ours(2);
        boolean edge = q.capabilities().contains(io.polyplex.Capability.EDGE_TRIGGERED);
        r.change("subscribeRead(a)", a, () -> q.subscribeRead(a), m -> {
            m.subscribed |= SocketEvent.READ;
            m.known = true;
        });
        r.change("subscribeWrite(a)", a, () -> q.subscribeWrite(a), m -> m.subscribed |= SocketEvent.WRITE);
        r.change("subscribeReadWrite(b)", b, () -> q.subscribeReadWrite(b), m -> {
            m.subscribed = SocketEvent.READ | SocketEvent.WRITE;
            m.known = true;
        });
        r.change("disableWrite(b)", b, () -> q.disableWrite(b), m -> m.disabled |= m.subscribed & SocketEvent.WRITE);
        r.change("subscribe(c, READ, " + (edge ? "EDGE" : "ONE_SHOT") + ")", c,
                () -> q.subscribe(c, SocketEvent.READ, edge ? Trigger.EDGE : Trigger.ONE_SHOT), m -> {
                    m.subscribed |= SocketEvent.READ;
                    m.disabled &= ~SocketEvent.READ;
                    m.trigger = edge ? Trigger.EDGE : Trigger.ONE_SHOT;
                    m.known = true;
                });
        r.change("subscribe(c, READ|WRITE, ONE_SHOT)", c, () -> q.subscribe(c, SocketEvent.READ | SocketEvent.WRITE, Trigger.ONE_SHOT), m -> {
            m.subscribed = SocketEvent.READ | SocketEvent.WRITE;
            m.disabled = 0;
            m.trigger = Trigger.ONE_SHOT;
            m.known = true;
        });
        // A wakeup ends a poll; a timed poll with nothing to report waits its whole time.
        r.step("wakeup()", q::wakeup);
        r.step("poll(after wakeup)", () -> q.poll(Duration.ofMillis(500), (s, ops) -> observe(r, s, ops)));
        r.change("disableRead(a)", a, () -> q.disableRead(a), m -> m.disabled |= m.subscribed & SocketEvent.READ);
        r.change("subscribe(c, READ|WRITE, LEVEL)", c, () -> q.subscribe(c, SocketEvent.READ | SocketEvent.WRITE, Trigger.LEVEL), m -> {
            m.subscribed = SocketEvent.READ | SocketEvent.WRITE;
            m.disabled = 0;
            m.trigger = Trigger.LEVEL;
            m.known = true;
        });
        r.change("remove(c)", c, () -> q.remove(c), m -> {
            m.subscribed = 0;
            m.disabled = 0;
            m.known = false;
        });
        r.change("disableReadWrite(a)", a, () -> q.disableReadWrite(a), m -> m.disabled = m.subscribed);
        r.change("subscribeRead(a) again", a, () -> q.subscribeRead(a), m -> {
            m.subscribed |= SocketEvent.READ;
            m.disabled &= ~SocketEvent.READ;
            m.known = true;
        });
        r.step("poll(ZERO)", () -> q.poll(Duration.ZERO, (s, ops) -> observe(r, s, ops)));
        // Nothing is ready now for what is enabled (no data sent yet, no write enabled), so a timed
        // poll waits its whole time, whatever fails inside it.
        r.step("poll(30 ms)", () -> {
            long start = System.nanoTime();
            int n = q.poll(Duration.ofMillis(30), (s, ops) -> observe(r, s, ops));
            long waited = System.nanoTime() - start;
            if (n == 0 && waited < 30_000_000L) {
                r.problems.add("a poll(30 ms) with nothing to report returned after " + waited + " ns");
            }
        });
        consistent(r);
        // The queue still works: with nothing watched any more, a wakeup ends a long poll
        // (generously bounded: it is prompt).
        for (NativeSocketChannel s : r.model.keySet()) {
            r.change("remove(fd " + s.getFD() + ") at the end", s, () -> q.remove(s), m -> {
                m.subscribed = 0;
                m.disabled = 0;
                m.known = false;
            });
        }
        boolean armed = r.faults.fired() == null;
        r.step("wakeup() at the end", q::wakeup);
        if (armed && r.faults.fired() != null) {
            // This wakeup's own write failed: that one is lost (EventQueue.wakeup cannot throw),
            // and the promise is that the next one is not.
            r.step("wakeup() after a failed one", q::wakeup);
        }
        r.step("poll(10 s) after a wakeup", () -> {
            long start = System.nanoTime();
            q.poll(Duration.ofSeconds(10), (s, ops) -> observe(r, s, ops));
            if (System.nanoTime() - start >= 10_000_000_000L) {
                r.problems.add("a wakeup did not end a poll: the self-pipe is stuck");
            }
        });
        // A poll with no limit (the list form), ended by a wakeup from another thread: the other
        // way the queue waits. Run on a thread of its own, so a stuck one is reported, not hung on.
        Thread waker = new Thread(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
            boolean stillArmed = r.faults.fired() == null;
            q.wakeup();
            if (stillArmed && r.faults.fired() != null) {
                q.wakeup(); // this wakeup's write may have been the one failed: lost, so the next must work
            }
        }, "fault-waker");
        java.util.concurrent.FutureTask<Void> endless = new java.util.concurrent.FutureTask<>(() -> {
            r.step("poll(no limit) ended by another thread's wakeup", () -> {
                for (io.polyplex.SocketEvent<NativeSocketChannel> e : q.poll(null)) {
                    observe(r, e.socket(), e.readyOps());
                }
            });
            return null;
        });
        Thread poller = new Thread(endless, "fault-poller");
        poller.start();
        waker.start();
        try {
            endless.get(20, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            r.problems.add("a poll with no limit was not ended by a wakeup within 20 s");
            q.close(); // ends it
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            r.problems.add("poll(no limit): " + e);
        }
        try {
            waker.join();
            poller.join(20_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * An event a scenario poll delivered: never for a direction the model says is not enabled; a
     * one-shot socket is disarmed by it (every subscribed direction disabled).
     */
    private static void observe(Run r, NativeSocketChannel s, int ops) {
        Model m = r.model.get(s);
        if (m == null || (ops & m.enabled()) == 0) {
            r.problems.add("an event " + SocketEvent.opsToString(ops) + " for fd " + s.getFD() + ", which the calls that"
                    + " succeeded say is not watched for it");
        } else if (m.trigger == Trigger.ONE_SHOT) {
            m.disabled = m.subscribed;
        }
        if ((ops & (SocketEvent.PEER_CLOSED | SocketEvent.ERROR)) != 0) {
            r.problems.add("fd " + s.getFD() + ", a healthy socket, reported " + SocketEvent.opsToString(ops));
        }
    }

    /**
     * The table and the kernel set agree: every socket is made readable, and what is reported
     * matches the enabled directions of the model (level sockets: exactly; an edge socket: READ on
     * the new data; a one-shot socket: one event if armed).
     */
    private void consistent(Run r) throws IOException {
        EventQueue<NativeSocketChannel> q = r.queue;
        Map<NativeSocketChannel, Integer> expect = new HashMap<>();
        for (Map.Entry<NativeSocketChannel, Model> e : r.model.entrySet()) {
            r.checkView("the scenario", e.getKey());
            NativeSocketChannel[] p = pairOf(r, e.getKey());
            p[1].write(java.nio.ByteBuffer.wrap(new byte[] {1}));
            Model m = e.getValue();
            int want = m.trigger == Trigger.EDGE ? m.enabled() & SocketEvent.READ : m.enabled();
            if (want != 0) {
                expect.put(e.getKey(), want);
            }
        }
        Map<NativeSocketChannel, Integer> got = new HashMap<>();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!covers(got, expect, r) && System.nanoTime() < deadline) {
            r.step("poll(consistency check)", () -> q.poll(Duration.ofMillis(20), (s, ops) -> {
                got.merge(s, ops, (x, y) -> x | y);
                observe(r, s, ops);
            }));
        }
        for (Map.Entry<NativeSocketChannel, Integer> e : expect.entrySet()) {
            int seen = got.getOrDefault(e.getKey(), 0);
            Model m = r.model.get(e.getKey());
            boolean ok = m.trigger == Trigger.ONE_SHOT ? (seen & e.getValue()) != 0 : (seen & e.getValue()) == e.getValue();
            if (!ok) {
                r.problems.add("fd " + e.getKey().getFD() + " (" + m.trigger + ", enabled " + SocketEvent.opsToString(e.getValue())
                        + ") was reported " + SocketEvent.opsToString(seen) + ": the kernel set and the table disagree");
            }
        }
        for (NativeSocketChannel s : got.keySet()) {
            if (!expect.containsKey(s)) {
                r.problems.add("fd " + s.getFD() + " was reported though nothing of it is enabled");
            }
        }
    }

    private static boolean covers(Map<NativeSocketChannel, Integer> got, Map<NativeSocketChannel, Integer> expect, Run r) {
        for (Map.Entry<NativeSocketChannel, Integer> e : expect.entrySet()) {
            int seen = got.getOrDefault(e.getKey(), 0);
            boolean oneShot = r.model.get(e.getKey()).trigger == Trigger.ONE_SHOT;
            if (oneShot ? (seen & e.getValue()) == 0 : (seen & e.getValue()) != e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private static NativeSocketChannel[] pairOf(Run r, NativeSocketChannel s) {
        for (NativeSocketChannel[] p : r.pairs) {
            if (p[0] == s) {
                return p;
            }
        }
        throw new IllegalStateException();
    }

    /** Runs the scenario once with {@code faults} armed (or not), then closes everything. */
    private Run runOnce(Faults faults, String errno) throws Exception {
        Set<Integer> before = ContractBase.fdNumbers();
        Run r = new Run(faults, errno);
        try {
            scenario(r);
        } finally {
            if (r.queue != null) {
                r.queue.close();
            }
            for (NativeSocketChannel[] p : r.pairs) {
                p[0].close();
                p[1].close();
            }
        }
        Set<Integer> left = ContractBase.newFds(before);
        if (!left.isEmpty()) {
            r.problems.add("fds left open: " + left);
        }
        return r;
    }

    @Test
    void everyCallOfEveryOperationFailsInTurnAndTheQueueHoldsUp() throws Exception {
        runOnce(new Faults(), "none"); // warms up: classes and libraries the JVM opens on first use are not leaks
        Faults recorder = new Faults();
        Run clean = runOnce(recorder, "none");
        assertEquals(List.of(), clean.problems, "the scenario without faults");
        List<Faults.Call> calls = recorder.calls();
        assertFalse(calls.isEmpty(), "the scenario made no call through the wrapped bindings");
        List<String> problems = new ArrayList<>();
        int runs = 0;
        for (Faults.Call call : calls) {
            for (String errno : ERRNOS) {
                Faults faults = new Faults();
                faults.failNth(call.function(), call.nth(), Errno.valueOf(errno).intValue());
                Run r = runOnce(faults, errno);
                runs++;
                if (faults.fired() == null) {
                    continue; // the run took another path before reaching this call: nothing was injected
                }
                for (String p : r.problems) {
                    problems.add(call + " " + errno + ": " + p);
                }
            }
        }
        assertTrue(runs >= calls.size() * ERRNOS.length);
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems in " + runs + " runs over " + calls.size() + " calls " + calls + ":\n"
                    + String.join("\n", problems.subList(0, Math.min(60, problems.size()))));
        }
    }
}
