package io.polyplex.bench.e2e;

import io.polyplex.demo.HttpMessages;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;

/**
 * The reference for the virtual-thread comparison: the demo's request handling ({@link HttpMessages})
 * on JDK sockets ({@link ServerSocket}, {@link Socket}) with one virtual thread per connection, the
 * way the JDK makes thread-per-connection scale for its own sockets. Only the routes a load test
 * uses: {@code /} and 404. Needs JDK 21+ (virtual threads are found at run time, so the benchmarks
 * still compile for 17).
 */
public final class JdkVirtualThreadHttpServer {

    private JdkVirtualThreadHttpServer() {
    }

    /** {@code --port P}: serves on 127.0.0.1 until killed. */
    public static void main(String[] args) throws Throwable {
        int port = args.length == 2 && args[0].equals("--port") ? Integer.parseInt(args[1]) : 8083;
        MethodHandle startVirtualThread;
        try {
            startVirtualThread = MethodHandles.publicLookup().findStatic(Thread.class, "startVirtualThread",
                    MethodType.methodType(Thread.class, Runnable.class));
        } catch (NoSuchMethodException e) {
            System.err.println("JdkVirtualThreadHttpServer needs JDK 21 or newer (this is " + Runtime.version() + ")");
            System.exit(2);
            return;
        }
        try (ServerSocket server = new ServerSocket(port, 4096, InetAddress.getByName("127.0.0.1"))) {
            System.out.println("jdk virtual-thread http server listening on http://127.0.0.1:" + server.getLocalPort() + "/");
            System.out.flush();
            while (true) {
                Socket s = server.accept();
                Runnable serve = () -> serve(s);
                Thread unused = (Thread) startVirtualThread.invokeExact(serve);
            }
        }
    }

    private static void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            s.setTcpNoDelay(true);
            ByteBuffer buf = ByteBuffer.allocate(8 * 1024);
            while (true) {
                int head = HttpMessages.headEnd(buf);
                if (head < 0) {
                    if (!buf.hasRemaining()) {
                        write(out, HttpMessages.response(431, "Request Header Fields Too Large", "request head too long\n", false));
                        return;
                    }
                    int n = in.read(buf.array(), buf.position(), buf.remaining());
                    if (n < 0) {
                        return;
                    }
                    buf.position(buf.position() + n);
                    continue;
                }
                HttpMessages.Head h = HttpMessages.take(buf, head);
                boolean keepAlive = h.status() == 0 && h.keepAlive();
                if (h.status() != 0) {
                    write(out, HttpMessages.response(h.status(), "Bad Request", h.error(), false));
                } else if (!h.method().equals("GET")) {
                    write(out, HttpMessages.response(405, "Method Not Allowed", "only GET\n", keepAlive));
                } else if (h.path().equals("/")) {
                    write(out, HttpMessages.response(200, "OK", "hello from jdk virtual threads (reference)\n", keepAlive));
                } else {
                    write(out, HttpMessages.response(404, "Not Found", "no such path\n", keepAlive));
                }
                if (!keepAlive) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away: nothing to answer
        }
    }

    private static void write(OutputStream out, ByteBuffer response) throws IOException {
        out.write(response.array(), response.arrayOffset() + response.position(), response.remaining());
        out.flush();
    }
}
