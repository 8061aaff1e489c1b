package io.polyplex.net;

import io.polyplex.internal.SocketLibrary;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.polyplex.NativeIOException;
import io.polyplex.conformance.ContractBase;
import io.polyplex.conformance.Faults;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import jnr.constants.platform.Errno;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Injected failures at core's socket binding: every call {@link NativeSockets} makes through
 * {@link SocketLibrary}, failed in turn with EINTR, EAGAIN, ENOMEM, EBADF, EMFILE and ENFILE,
 * while a scenario uses every public method (listen, localAddress, connect, accept, the socket
 * options, send, recv, peek, startConnect and finishConnect, socketPair, shutdownOutput, abort).
 * After each fault:
 * <ul>
 *   <li>a transient errno never reached the caller: the scenario completed, every byte arrived
 *       intact, and only the documented meanings of EAGAIN showed (accept: null; send: 0; recv: 0;
 *       peek: -1), which the scenario handles by trying again, as a caller would after a poll;
 *   <li>any other errno stopped the scenario with a {@link NativeIOException} naming the call, an
 *       fd and that errno;
 *   <li>no fd is left open once the scenario has closed what it was given: a method that failed
 *       closed what it opened.
 * </ul>
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NativeSocketsFaultTest {

    static final String[] ERRNOS = {"EINTR", "EAGAIN", "ENOMEM", "EBADF", "EMFILE", "ENFILE"};

    private static boolean isTransient(String errno) {
        return errno.equals("EINTR") || errno.equals("EAGAIN");
    }

    /** What one run of the scenario did: how far it got, what it saw, what it was given to close. */
    private static final class Run {
        final List<Closeable> given = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        NativeIOException stoppedBy;
        boolean completed;
        /** "Nothing now" answers (accept: null, send: 0) where the clean run gets none. */
        int nothingNow;

        <T extends Closeable> T keep(T c) {
            if (c != null) {
                given.add(c);
            }
            return c;
        }
    }

    /** Every public operation once, through {@code sockets}; throws what an operation threw. */
    private static void scenario(SocketCalls sockets, Run r) throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        NativeServerSocketChannel server = r.keep(sockets.listen(new InetSocketAddress(loopback, 0), 16));
        InetSocketAddress at = (InetSocketAddress) sockets.address(server.getFD(), false);
        if (at.getPort() == 0) {
            r.problems.add("localAddress of a listening socket says port 0");
        }
        NativeSocketChannel client = r.keep(sockets.connect(at));
        NativeSocketChannel served = r.keep(acceptOne(sockets, server, r));
        sockets.setTcpNoDelay(client.getFD(), true);
        sockets.setSendBufferSize(client.getFD(), 64 * 1024);
        sockets.setReceiveBufferSize(served.getFD(), 64 * 1024);

        if (sockets.peek(served.getFD()) != -1) {
            r.problems.add("peek before anything was sent did not say 'nothing yet' (-1)");
        }
        byte[] ping = "ping-polyplex".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        sendAll(sockets, client.getFD(), ping, r);
        waitForPeek(sockets, served.getFD(), 1);
        byte[] got = recvExactly(sockets, served.getFD(), ping.length);
        if (!java.util.Arrays.equals(ping, got)) {
            r.problems.add("sent " + new String(ping) + ", received " + new String(got));
        }
        sockets.shutdownOutput(client.getFD());
        if (recvUntilEnd(sockets, served.getFD()) != -1) {
            r.problems.add("no end of stream after shutdownOutput");
        }

        NativeSocketChannel pending = r.keep(sockets.startConnect(at));
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!sockets.finishConnect(pending)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("a loopback connect did not finish in 20 s");
            }
            Thread.onSpinWait();
        }
        NativeSocketChannel second = r.keep(acceptOne(sockets, server, r));
        sockets.abort(pending);
        try {
            byte[] none = recvExactly(sockets, second.getFD(), 1);
            r.problems.add("read " + none.length + " byte(s) from a reset connection");
        } catch (NativeIOException e) {
            if (!e.errnoName().equals("ECONNRESET")) {
                throw e;
            }
        }

        NativeSocketChannel[] pair = sockets.socketPair();
        r.keep(pair[0]);
        r.keep(pair[1]);
        sendAll(sockets, pair[0].getFD(), ping, r);
        if (!java.util.Arrays.equals(ping, recvExactly(sockets, pair[1].getFD(), ping.length))) {
            r.problems.add("the socket pair garbled its bytes");
        }
        r.completed = true;
    }

    private static NativeSocketChannel acceptOne(SocketCalls sockets, NativeServerSocketChannel server, Run r) throws IOException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        NativeSocketChannel ch;
        while ((ch = sockets.accept(server)) == null) {
            r.nothingNow++;
            if (System.nanoTime() > deadline) {
                throw new AssertionError("a connected client was not accepted in 20 s");
            }
            Thread.onSpinWait();
        }
        return ch;
    }

    private static void sendAll(SocketCalls sockets, int fd, byte[] bytes, Run r) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (b.hasRemaining()) {
            if (sockets.send(fd, b) == 0) {
                r.nothingNow++;
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("send made no progress in 20 s");
                }
            }
        }
    }

    private static void waitForPeek(SocketCalls sockets, int fd, int want) throws IOException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (sockets.peek(fd) != want) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("peek did not see the data in 20 s");
            }
        }
    }

    private static byte[] recvExactly(SocketCalls sockets, int fd, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (b.hasRemaining()) {
            int got = sockets.recv(fd, b);
            if (got < 0) {
                break;
            }
            if (got == 0 && System.nanoTime() > deadline) {
                throw new AssertionError("recv got nothing in 20 s");
            }
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    private static int recvUntilEnd(SocketCalls sockets, int fd) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            b.clear();
            int got = sockets.recv(fd, b);
            if (got < 0 || got > 0) {
                return got;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no end of stream in 20 s");
            }
        }
    }

    /** Runs the scenario once over {@code faults}, closes what it was given, and checks for leaks. */
    private static Run runOnce(Faults faults, String errno) {
        Set<Integer> before = ContractBase.fdNumbers();
        SocketCalls sockets = new SocketCalls(faults.wrap(SocketLibrary.class, SocketLibrary.INSTANCE, SocketLibrary.RUNTIME));
        Run r = new Run();
        try {
            scenario(sockets, r);
        } catch (NativeIOException e) {
            r.stoppedBy = e;
        } catch (IOException | RuntimeException e) {
            r.problems.add("threw " + e + ": not a NativeIOException naming the call, the fd and the errno");
        } catch (AssertionError e) {
            r.problems.add(e.getMessage());
        } finally {
            for (Closeable c : r.given) {
                try {
                    c.close();
                } catch (IOException e) {
                    r.problems.add("closing " + c + ": " + e);
                }
            }
        }
        Set<Integer> left = ContractBase.newFds(before);
        if (!left.isEmpty()) {
            r.problems.add("fds left open: " + left);
        }
        if (r.stoppedBy != null) {
            NativeIOException e = r.stoppedBy;
            if (isTransient(e.errnoName())) {
                r.problems.add("the transient " + e.errnoName() + " reached the caller: " + e.getMessage());
            } else if (!e.errnoName().equals(errno) || !e.getMessage().contains("fd=") || !e.getMessage().contains(errno)) {
                r.problems.add(e.getMessage() + " does not name the fd and the injected " + errno);
            }
        }
        return r;
    }

    @Test
    void everyCallOfEveryMethodFailsInTurn() {
        runOnce(new Faults(), "none"); // warms up: classes and libraries the JVM opens on first use are not leaks
        Faults recorder = new Faults();
        Run clean = runOnce(recorder, "none");
        assertEquals(List.of(), clean.problems, "the scenario without faults");
        assertTrue(clean.completed, "the scenario without faults completed");
        assertEquals(0, clean.nothingNow, "on loopback, accept after connect and a small send succeed at once");
        List<Faults.Call> calls = recorder.calls();
        assertFalse(calls.isEmpty());
        List<String> problems = new ArrayList<>();
        int fired = 0;
        for (Faults.Call call : calls) {
            for (String errno : ERRNOS) {
                Faults faults = new Faults();
                faults.failNth(call.function(), call.nth(), Errno.valueOf(errno).intValue());
                Run r = runOnce(faults, errno);
                if (faults.fired() == null) {
                    continue; // this run took another path (a loop ran a different number of times)
                }
                fired++;
                if (isTransient(errno) && !r.completed && r.problems.isEmpty()) {
                    r.problems.add("the scenario did not complete after a transient " + errno);
                }
                // EINTR means nothing to the caller: not even "nothing now", which would send an
                // edge-triggered caller to wait for an edge that is not coming.
                if (errno.equals("EINTR") && r.nothingNow > clean.nothingNow) {
                    r.problems.add("an interrupted call answered 'nothing now' (accept: null, send: 0)");
                }
                for (String p : r.problems) {
                    problems.add(call + " " + errno + ": " + p);
                }
            }
        }
        assertTrue(fired >= calls.size(), "most injected faults fired: " + fired + " of " + calls.size() * ERRNOS.length);
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems over " + calls.size() + " calls " + calls + ":\n"
                    + String.join("\n", problems.subList(0, Math.min(60, problems.size()))));
        }
    }
}
