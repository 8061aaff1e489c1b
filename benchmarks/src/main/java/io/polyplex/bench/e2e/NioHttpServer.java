package io.polyplex.bench.e2e;

import io.polyplex.demo.HttpMessages;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;

/**
 * The end-to-end reference: the demo {@link io.polyplex.demo.HttpServer}'s request handling
 * ({@link HttpMessages}) on one java.nio {@link Selector} thread, the way a java.nio user would
 * write it: accept on the loop, read until the socket is empty, answer each complete head, fall back
 * to write interest when the peer is slow. Only the routes a load test uses: {@code /} and 404.
 */
public final class NioHttpServer {

    private static final class Conn {
        final SocketChannel channel;
        final ByteBuffer in = ByteBuffer.allocate(8 * 1024);
        ByteBuffer out;
        boolean keepAlive = true;

        Conn(SocketChannel channel) {
            this.channel = channel;
        }
    }

    private NioHttpServer() {
    }

    /** {@code --port P}: serves on 127.0.0.1 until killed. */
    public static void main(String[] args) throws IOException {
        int port = args.length == 2 && args[0].equals("--port") ? Integer.parseInt(args[1]) : 8081;
        try (Selector selector = Selector.open(); ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress("127.0.0.1", port), 1024);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            System.out.println("java.nio http server listening on http://127.0.0.1:" + port + "/");
            System.out.flush();
            while (true) {
                selector.select();
                for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (k.channel() == server) {
                        accept(server, selector);
                    } else {
                        onReady(k);
                    }
                }
            }
        }
    }

    private static void accept(ServerSocketChannel server, Selector selector) throws IOException {
        for (SocketChannel ch; (ch = server.accept()) != null; ) {
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ, new Conn(ch));
        }
    }

    private static void onReady(SelectionKey k) {
        Conn c = (Conn) k.attachment();
        try {
            if (k.isWritable() && !flush(c, k)) {
                return;
            }
            if (k.isValid() && k.isReadable()) {
                readRequests(c, k);
            }
        } catch (IOException e) {
            drop(c, k);
        }
    }

    private static void readRequests(Conn c, SelectionKey k) throws IOException {
        while (k.isValid() && (c.out == null || !c.out.hasRemaining())) {
            int head = HttpMessages.headEnd(c.in);
            if (head >= 0) {
                answer(c, k, head);
                continue;
            }
            if (!c.in.hasRemaining()) {
                send(c, k, HttpMessages.response(431, "Request Header Fields Too Large", "request head too long\n", false), false);
                return;
            }
            int n = c.channel.read(c.in);
            if (n < 0) {
                drop(c, k);
                return;
            }
            if (n == 0) {
                return;
            }
        }
    }

    private static void answer(Conn c, SelectionKey k, int headLength) throws IOException {
        HttpMessages.Head h = HttpMessages.take(c.in, headLength);
        if (h.status() != 0) {
            send(c, k, HttpMessages.response(h.status(), "Bad Request", h.error(), false), false);
        } else if (!h.method().equals("GET")) {
            send(c, k, HttpMessages.response(405, "Method Not Allowed", "only GET\n", h.keepAlive()), h.keepAlive());
        } else if (h.path().equals("/")) {
            send(c, k, HttpMessages.response(200, "OK", "hello from java.nio (reference)\n", h.keepAlive()), h.keepAlive());
        } else {
            send(c, k, HttpMessages.response(404, "Not Found", "no such path\n", h.keepAlive()), h.keepAlive());
        }
    }

    private static void send(Conn c, SelectionKey k, ByteBuffer out, boolean keepAlive) throws IOException {
        c.out = out;
        c.keepAlive = keepAlive;
        flush(c, k);
    }

    /** Writes what is pending; returns whether all of it went out (and the connection lives on). */
    private static boolean flush(Conn c, SelectionKey k) throws IOException {
        ByteBuffer out = c.out;
        if (out == null) {
            return true;
        }
        while (out.hasRemaining()) {
            if (c.channel.write(out) == 0) {
                k.interestOps(SelectionKey.OP_WRITE);
                return false;
            }
        }
        c.out = null;
        if (!c.keepAlive) {
            drop(c, k);
            return false;
        }
        if (k.interestOps() != SelectionKey.OP_READ) {
            k.interestOps(SelectionKey.OP_READ);
        }
        return true;
    }

    private static void drop(Conn c, SelectionKey k) {
        k.cancel();
        try {
            c.channel.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
