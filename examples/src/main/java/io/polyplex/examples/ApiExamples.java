package io.polyplex.examples;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.ParkingPoller;
import io.polyplex.net.BlockingAcceptor;
import io.polyplex.net.BlockingSockets;
import io.polyplex.net.NativeSockets;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import jnr.enxio.channels.NativeSelectableChannel;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;

/**
 * The code examples of the public Javadoc (the class comments of {@code EventQueue}, {@code
 * EventQueues}, {@code ParkingPoller}, {@code BlockingSockets}, {@code BlockingAcceptor} and {@code
 * NativeSockets}), as code the build compiles and {@code ApiExamplesTest} runs on every backend.
 * Each lies between {@code // javadoc:begin TYPE} and {@code // javadoc:end TYPE}, and {@code
 * JavadocExamplesTest} fails unless the {@code <pre>{@code ...}</pre>} block of that type's Javadoc
 * is the same text.
 */
public final class ApiExamples {

    private ApiExamples() {}

    /**
     * Counts the bytes that arrive on the sockets subscribed to {@code queue} until another thread
     * calls {@link #stop}; a socket whose peer closes or resets is removed and closed.
     */
    // javadoc:begin io.polyplex.EventQueue
    static long countBytes(EventQueue<NativeSocketChannel> queue, AtomicBoolean running) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(8192);
        long[] total = {0};
        while (running.get()) {
            queue.poll(null, (socket, ops) -> {        // returns after events, or after wakeup()
                try {
                    int n = socket.read(buf.clear());
                    if (n >= 0) {
                        total[0] += n;
                        return;
                    }
                } catch (IOException reset) {          // this socket's end, not the loop's
                }
                try {
                    queue.remove(socket);              // remove first, then close
                    socket.close();
                } catch (IOException ignored) {
                }
            });
        }
        return total[0];
    }

    static void stop(EventQueue<?> queue, AtomicBoolean running) {   // from any thread
        running.set(false);
        queue.wakeup();                                // never throws, even once the queue is closed
    }
    // javadoc:end io.polyplex.EventQueue

    /** Lists every backend on {@code out}, then opens a queue on {@code name} or on the best one. */
    // javadoc:begin io.polyplex.EventQueues
    static EventQueue<NativeSelectableChannel> open(String name, PrintStream out) throws IOException {
        for (BackendInfo b : EventQueues.backends()) { // every backend on the class path or module path
            out.println(b.name() + ": " + (b.supported() ? "runs here, " + b.capabilities()
                    : "does not run here, " + b.unsupportedReason().orElse("")));
        }
        return name == null
                ? EventQueues.open(NativeSelectableChannel::getFD)        // the best here, or -Dpolyplex.backend
                : EventQueues.open(name, NativeSelectableChannel::getFD); // that one, or an exception saying why not
    }
    // javadoc:end io.polyplex.EventQueues

    /** Reads what {@code channel} has, parking the calling thread until it has something. */
    // javadoc:begin io.polyplex.ParkingPoller
    static int read(ParkingPoller poller, NativeSocketChannel channel, ByteBuffer buf, Duration timeout)
            throws IOException {
        while (true) {
            int n = channel.read(buf);                  // non-blocking: 0 while nothing has come
            if (n != 0) {
                return n;                               // bytes, or -1 at end of stream
            }
            if (poller.awaitReadable(channel, timeout) == 0) {   // parks; a virtual thread unmounts
                throw new SocketTimeoutException("nothing to read within " + timeout);
            }
        }
    }
    // javadoc:end io.polyplex.ParkingPoller

    /** Sends {@code request}, half-closes, and returns everything the server answers. */
    // javadoc:begin io.polyplex.net.BlockingSockets
    static String exchange(BlockingSockets io, InetSocketAddress server, String request) throws IOException {
        Duration timeout = Duration.ofSeconds(10);
        try (NativeSocketChannel c = io.connect(server, timeout)) {        // parks while connecting
            io.write(c, StandardCharsets.UTF_8.encode(request), timeout);  // all of it, or an exception
            NativeSockets.shutdownOutput(c);
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (io.read(c, buf.clear(), timeout) > 0) {                 // -1: the server closed
                answer.write(buf.array(), 0, buf.position());
            }
            return answer.toString(StandardCharsets.UTF_8);
        }
    }
    // javadoc:end io.polyplex.net.BlockingSockets

    /**
     * Starts {@code threads} accept loops on {@code executor}, each handing its connections to
     * {@code serve}; the returned acceptor's shutdown ends them.
     */
    // javadoc:begin io.polyplex.net.BlockingAcceptor
    static BlockingAcceptor acceptOn(ParkingPoller poller, NativeServerSocketChannel listener, int threads,
            ExecutorService executor, Consumer<NativeSocketChannel> serve) throws IOException {
        BlockingAcceptor acceptor = new BlockingAcceptor(poller, listener);   // owns the listener now
        for (int i = 0; i < threads; i++) {
            executor.execute(() -> {
                try {
                    for (NativeSocketChannel c; (c = acceptor.accept()) != null; ) {   // null once shut down
                        serve.accept(c);
                    }
                } catch (IOException e) {
                    System.err.println("accept: " + e.getMessage());
                }
            });
        }
        return acceptor;   // acceptor.shutdown() from any thread ends every accept, then closes the listener
    }
    // javadoc:end io.polyplex.net.BlockingAcceptor

    /**
     * Listens on an AF_UNIX path with jnr-unixsocket; {@code acceptedOn} accepts one waiting client
     * and returns the path it was accepted on (null if nobody waits).
     */
    // javadoc:begin io.polyplex.net.NativeSockets
    static UnixServerSocketChannel listen(File path) throws IOException {
        UnixServerSocketChannel server = UnixServerSocketChannel.open();
        try {
            server.socket().bind(new UnixSocketAddress(path));
            server.configureBlocking(false);           // jnr-unixsocket's channels start blocking
            return server;                             // an EventQueue watches it like any listener
        } catch (IOException e) {
            server.close();
            throw e;
        }
    }

    static Path acceptedOn(UnixServerSocketChannel server) throws IOException {
        try (NativeSocketChannel c = NativeSockets.accept(server)) {   // non-blocking, close-on-exec
            return c == null ? null                                    // nobody is waiting
                    : ((UnixDomainSocketAddress) NativeSockets.localAddress(c)).getPath();
        }
    }
    // javadoc:end io.polyplex.net.NativeSockets
}
