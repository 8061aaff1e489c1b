package io.polyplex.bench.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.polyplex.demo.HttpMessages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Netty peer answers what the other two servers answer ({@link HttpMessages}): same routes,
 * statuses, headers and keep-alive rule, so the end-to-end comparison measures the same work.
 */
class NettyHttpServerTest {

    private static EventLoopGroup group;
    private static int port;

    @BeforeAll
    static void start() throws InterruptedException {
        Assumptions.assumeTrue(Epoll.isAvailable(), "Netty's native epoll transport runs on Linux only");
        group = NettyHttpServer.newGroup();
        Channel server = NettyHttpServer.bind(group, "127.0.0.1", 0);
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    @AfterAll
    static void stop() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** A response as read off the wire: status line, headers (names in lower case, in order), body. */
    private record Response(String status, Map<String, String> headers, String body) {
        static Response of(ByteBuffer wire) {
            byte[] b = new byte[wire.remaining()];
            wire.get(b);
            return read(new java.io.ByteArrayInputStream(b));
        }

        static Response read(InputStream in) {
            try {
                String status = line(in);
                Map<String, String> headers = new LinkedHashMap<>();
                for (String l; !(l = line(in)).isEmpty(); ) {
                    int colon = l.indexOf(':');
                    headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
                }
                byte[] body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
                return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        private static String line(InputStream in) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) {
                    throw new IOException("connection closed mid-line: " + b);
                }
                if (c != '\r') {
                    b.write(c);
                }
            }
            return b.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static Socket connect() throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(5_000);
        return s;
    }

    private static void send(Socket s, String request) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(request.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    @Test
    void helloOnKeepAliveConnectionsAsTheDemoAnswersIt() throws IOException {
        Response expected = Response.of(HttpMessages.response(200, "OK", "hello from netty (native epoll)\n", true));
        try (Socket s = connect()) {
            for (int i = 0; i < 3; i++) { // the connection lives on
                send(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                assertEquals(expected, Response.read(s.getInputStream()));
            }
            send(s, "GET /?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(expected, Response.read(s.getInputStream()), "the query is not part of the path");
        }
        assertEquals("HTTP/1.1 200 OK", expected.status());
        assertFalse(expected.headers().containsKey("connection"));
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws IOException {
        try (Socket s = connect()) {
            send(s, "GET / HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
            assertEquals("HTTP/1.1 200 OK", Response.read(s.getInputStream()).status());
            assertEquals("HTTP/1.1 404 Not Found", Response.read(s.getInputStream()).status());
            assertEquals("HTTP/1.1 200 OK", Response.read(s.getInputStream()).status());
        }
    }

    @Test
    void otherPathsAndMethodsGetTheDemosRefusals() throws IOException {
        try (Socket s = connect()) {
            send(s, "GET /nope HTTP/1.1\r\n\r\n");
            assertEquals(Response.of(HttpMessages.response(404, "Not Found", "no such path\n", true)),
                    Response.read(s.getInputStream()));
            send(s, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
            assertEquals(Response.of(HttpMessages.response(405, "Method Not Allowed", "only GET\n", true)),
                    Response.read(s.getInputStream()));
        }
    }

    @Test
    void http10AndConnectionCloseGetAClosingAnswer() throws IOException {
        Response closing = Response.of(HttpMessages.response(200, "OK", "hello from netty (native epoll)\n", false));
        assertEquals("close", closing.headers().get("connection"));
        for (String request : new String[] {"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"}) {
            try (Socket s = connect()) {
                send(s, request);
                assertEquals(closing, Response.read(s.getInputStream()), request);
                assertEquals(-1, s.getInputStream().read(), "closed after the answer: " + request);
            }
        }
        try (Socket s = connect()) {
            send(s, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            assertFalse(Response.read(s.getInputStream()).headers().containsKey("connection"));
        }
    }

    @Test
    void anOversizedOrMalformedHeadIsRefusedAndClosed() throws IOException {
        try (Socket s = connect()) {
            send(s, "GET / HTTP/1.1\r\nX-Big: " + "x".repeat(9 * 1024) + "\r\n\r\n");
            Response r = Response.read(s.getInputStream());
            assertEquals("HTTP/1.1 431 Request Header Fields Too Large", r.status());
            assertEquals("close", r.headers().get("connection"));
            assertEquals(-1, s.getInputStream().read());
        }
        try (Socket s = connect()) {
            send(s, "GET / HTTP/x.y\r\n\r\n");
            Response r = Response.read(s.getInputStream());
            assertTrue(r.status().startsWith("HTTP/1.1 400 "), r.status());
            assertEquals(-1, s.getInputStream().read());
        }
    }

    @Test
    void theLogNamesTheConfigurationInForce() {
        String d = NettyHttpServer.describe();
        assertTrue(d.contains("1 event-loop thread (epoll, level-triggered)"), d);
        assertTrue(d.contains("leak detection DISABLED"), d);
    }
}
