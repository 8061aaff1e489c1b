package io.polyplex.bench.e2e;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.Version;
import io.netty.util.internal.PlatformDependent;
import java.nio.charset.StandardCharsets;

/**
 * Netty's hello-world HTTP server on its native epoll transport, configured as Netty's own
 * documentation and its TechEmpower entry configure a plaintext server, with one event-loop thread:
 * the same thread count as the Polyplex demo and the java.nio reference it is compared with.
 *
 * <ul>
 *   <li>One {@link MultiThreadIoEventLoopGroup} of one thread with {@link EpollIoHandler}: accept
 *       and I/O on the same loop, as the other two servers do (no separate boss group). Netty 4.2's
 *       epoll is always level-triggered ({@code EpollMode} is deprecated and ignored), as are the
 *       demo (its default) and java.nio's Selector.
 *   <li>{@link HttpRequestDecoder} and {@link HttpResponseEncoder} (not {@code HttpServerCodec},
 *       whose HEAD bookkeeping this server does not need) and no aggregator: the demo answers the
 *       head, and so does this. Header validation off, as in the TechEmpower entry: the demo's
 *       parser validates nothing either.
 *   <li>Responses from constants: each status's headers are built once and shared, its body is a
 *       direct buffer duplicated per response; written with the void promise and flushed once per
 *       read batch ({@code channelReadComplete}); only a closing response has a listener.
 *   <li>Netty's defaults otherwise, which are its tuned ones: auto-read, TCP_NODELAY on (Netty sets
 *       it on every accepted socket on Linux), the adaptive pooled allocator (4.2's default,
 *       direct buffers). The leak detector is off, as in the TechEmpower entry: the other two
 *       servers pay for no such sampling. The JVM flags Netty's benchmark entry adds are on the
 *       command line {@code EndToEnd} builds.
 * </ul>
 *
 * <p>Same routes and semantics as {@code HttpMessages}: GET {@code /} (query ignored) is 200 with a
 * short text, any other path 404, any other method 405, a head over 8 KiB 431 and a malformed
 * request 400 (both closing); keep-alive unless HTTP/1.0 without {@code Connection: keep-alive} or a
 * {@code Connection: close}, and then a {@code Connection: close} answer. Every answer is HTTP/1.1,
 * {@code text/plain} with a Content-Length.
 */
public final class NettyHttpServer {

    static {
        // Before any buffer class loads: the level is read once.
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }

    /** The demo's head limit (8 KiB), as Netty's decoder counts it: request line, then headers. */
    private static final int MAX_HEAD = 8 * 1024;

    private static final HttpHeadersFactory NO_VALIDATION = DefaultHttpHeadersFactory.headersFactory()
            .withValidation(false);

    private NettyHttpServer() {
    }

    /** {@code --port P}: serves on 127.0.0.1 until killed. */
    public static void main(String[] args) throws InterruptedException {
        int port = args.length == 2 && args[0].equals("--port") ? Integer.parseInt(args[1]) : 8082;
        EventLoopGroup group = newGroup();
        try {
            bind(group, "127.0.0.1", port);
            System.out.println("netty http server listening on http://127.0.0.1:" + port + "/");
            System.out.println(describe());
            System.out.flush();
            group.terminationFuture().sync();
        } finally {
            group.shutdownGracefully();
        }
    }

    /** The one event loop: accept and I/O on one thread, on the native epoll transport. */
    static EventLoopGroup newGroup() {
        Epoll.ensureAvailability();
        return new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    /** Listens on {@code host:port} (0: any free port) with the server's whole configuration. */
    static Channel bind(EventLoopGroup group, String host, int port) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(
                                new HttpRequestDecoder(new HttpDecoderConfig()
                                        .setMaxInitialLineLength(MAX_HEAD)
                                        .setMaxHeaderSize(MAX_HEAD)
                                        .setHeadersFactory(NO_VALIDATION)),
                                new HttpResponseEncoder(),
                                new Hello());
                    }
                });
        return b.bind(host, port).sync().channel();
    }

    /** What the log shows of the configuration actually in force (the e2e log keeps it). */
    static String describe() {
        Version v = Version.identify().get("netty-transport-classes-epoll");
        return "netty " + (v == null ? "?" : v.artifactVersion()) + ": 1 event-loop thread (epoll, level-triggered),"
                + " allocator " + ByteBufAllocator.DEFAULT.getClass().getSimpleName()
                + (ByteBufAllocator.DEFAULT.isDirectBufferPooled() ? " (pooled)" : "")
                + ", leak detection " + ResourceLeakDetector.getLevel()
                + ", sun.misc.Unsafe " + (PlatformDependent.hasUnsafe() ? "used" : "not used")
                + ", io.netty.buffer.checkBounds=" + System.getProperty("io.netty.buffer.checkBounds", "true")
                + ", io.netty.buffer.checkAccessible=" + System.getProperty("io.netty.buffer.checkAccessible", "true");
    }

    /** One status with its body, built once: shared headers, a direct body duplicated per response. */
    private static final class Canned {
        private final HttpResponseStatus status;
        private final ByteBuf body;
        private final HttpHeaders keepAlive;
        private final HttpHeaders close;

        Canned(int code, String reason, String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            status = new HttpResponseStatus(code, reason);
            body = Unpooled.unreleasableBuffer(Unpooled.directBuffer(bytes.length).writeBytes(bytes));
            keepAlive = NO_VALIDATION.newHeaders()
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
                    .set(HttpHeaderNames.CONTENT_LENGTH, AsciiString.cached(String.valueOf(bytes.length)));
            close = NO_VALIDATION.newHeaders().set(keepAlive).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }

        FullHttpResponse response(boolean keepAlive) {
            return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body.duplicate(),
                    keepAlive ? this.keepAlive : close, EmptyHttpHeaders.INSTANCE);
        }
    }

    private static final Canned HELLO = new Canned(200, "OK", "hello from netty (native epoll)\n");
    private static final Canned NOT_FOUND = new Canned(404, "Not Found", "no such path\n");
    private static final Canned NOT_GET = new Canned(405, "Method Not Allowed", "only GET\n");
    private static final Canned TOO_LONG = new Canned(431, "Request Header Fields Too Large", "request head too long\n");
    private static final Canned BAD = new Canned(400, "Bad Request", "malformed request\n");

    private static final class Hello extends ChannelInboundHandlerAdapter {
        /** After an answer that closes: whatever the decoder still delivers is dropped. */
        private boolean closing;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest req && !closing) {
                    answer(ctx, req);
                }
            } finally {
                ReferenceCountUtil.release(msg); // the decoder's content parts (empty for a GET)
            }
        }

        private void answer(ChannelHandlerContext ctx, HttpRequest req) {
            if (req.decoderResult().isFailure()) {
                Canned c = req.decoderResult().cause() instanceof TooLongFrameException ? TOO_LONG : BAD;
                close(ctx, c);
                return;
            }
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            Canned c;
            if (!HttpMethod.GET.equals(req.method())) {
                c = NOT_GET;
            } else {
                String uri = req.uri();
                int q = uri.indexOf('?');
                c = (q < 0 ? uri.equals("/") : q == 1 && uri.charAt(0) == '/') ? HELLO : NOT_FOUND;
            }
            if (keepAlive) {
                ctx.write(c.response(true), ctx.voidPromise()); // flushed in channelReadComplete
            } else {
                close(ctx, c);
            }
        }

        private void close(ChannelHandlerContext ctx, Canned c) {
            closing = true;
            ctx.writeAndFlush(c.response(false)).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
