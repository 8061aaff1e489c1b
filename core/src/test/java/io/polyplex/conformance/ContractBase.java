package io.polyplex.conformance;

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
@Timeout(120)
public abstract class ContractBase {

    /** Upper bound for anything that must happen "promptly" or "eventually". */
    protected static final Duration EVENTUALLY = Duration.ofSeconds(20);

    /** The hook: open a queue on the backend under test. */
    protected abstract <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException;

    protected EventQueue<NativeSocketChannel> queue;
    private final Deque<AutoCloseable> toClose = new ArrayDeque<>();

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
        InetSocketAddress at = NativeSockets.localAddress(server.getFD());
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
        long deadline = System.nanoTime() + EVENTUALLY.toNanos();
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            for (SocketEvent<NativeSocketChannel> e : queue.poll(Duration.ofMillis(200))) {
                if (e.socket() == socket && (e.readyOps() & bits) == bits) {
                    return e.readyOps();
                }
                seen.add(e.toString());
            }
        }
        return fail("no " + SocketEvent.opsToString(bits) + " event for fd " + socket.getFD() + " within "
                + EVENTUALLY + "; saw " + seen);
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

    /** Number of open fds of this process (/proc/self/fd on Linux, /dev/fd elsewhere). */
    protected static int openFds() {
        File dir = new File("/proc/self/fd");
        if (!dir.isDirectory()) {
            dir = new File("/dev/fd");
        }
        String[] names = Objects.requireNonNull(dir.list(), "cannot list " + dir);
        return names.length;
    }

    protected static boolean isOpen(Channel c) {
        return c.isOpen();
    }

    protected static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
