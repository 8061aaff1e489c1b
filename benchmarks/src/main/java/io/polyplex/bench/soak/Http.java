package io.polyplex.bench.soak;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The client side of the demo server's HTTP/1.1, strict enough to tell a right answer from a wrong
 * one: the exact bodies the server promises, the refusal it sends past its connection limit, and a
 * reader for responses with a Content-Length or a chunked body that can stop early (a client that
 * hangs up mid-response).
 *
 * <p>Two kinds of trouble are kept apart: {@link MalformedException}, a response that is not what
 * the server writes (counted as a wrong body), and any other {@link IOException} (end of stream,
 * reset, timeout before the response was complete: counted as a broken response).
 */
final class Http {

    /** Connect and read timeouts: far beyond any healthy response, short enough to notice a stuck server. */
    static final int TIMEOUT_MS = 30_000;
    private static final int MAX_HEAD = 16 * 1024;

    private Http() {
    }

    /** A response that is not HTTP as the demo server writes it. */
    static final class MalformedException extends IOException {
        MalformedException(String message) {
            super(message);
        }
    }

    /**
     * One response: status, headers (names lower-case) and the body as decoded so far; {@code
     * complete} is false when the reader stopped at the caller's limit before the body's end.
     */
    record Response(int status, Map<String, String> headers, byte[] body, boolean complete) {
        boolean closes() {
            return "close".equalsIgnoreCase(headers.getOrDefault("connection", ""));
        }
    }

    /** {@code GET target}, keep-alive unless {@code close}. */
    static byte[] request(String target, boolean close) {
        return ("GET " + target + " HTTP/1.1\r\nHost: soak\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** The body of {@code /} on {@code backend}. */
    static byte[] rootBody(String backend) {
        return ("hello from polyplex (" + backend + ")\n").getBytes(StandardCharsets.UTF_8);
    }

    /** The body of {@code /slow?ms=N}. */
    static byte[] slowBody(int ms) {
        return ("slept " + ms + " ms\n").getBytes(StandardCharsets.UTF_8);
    }

    /** The decoded body of {@code /big?kb=N}: N KiB of 'x'. */
    static byte[] bigBody(int kb) {
        byte[] b = new byte[kb * 1024];
        Arrays.fill(b, (byte) 'x');
        return b;
    }

    /**
     * The server's answer to a connection past its limit: 503, an empty body, and Connection: close
     * (see HttpServer.adopt). Correct behaviour during a connection storm.
     */
    static boolean isRefusal(Response r) {
        return r.status() == 503 && r.body().length == 0 && r.closes() && r.complete();
    }

    /** Null when {@code r} is exactly a complete {@code status} response with {@code body}; else why not. */
    static String mismatch(Response r, int status, byte[] body) {
        if (!r.complete()) {
            return "incomplete response";
        }
        if (r.status() != status) {
            return "status " + r.status() + ", expected " + status + " (body " + preview(r.body()) + ")";
        }
        if (!Arrays.equals(r.body(), body)) {
            return "body " + preview(r.body()) + " (" + r.body().length + " bytes), expected " + preview(body) + " ("
                    + body.length + " bytes)";
        }
        return null;
    }

    /** Null when {@code r} is a 200 whose body so far is made only of {@code fill}; else why not. */
    static String prefixMismatch(Response r, byte fill) {
        if (r.status() != 200) {
            return "status " + r.status() + ", expected 200";
        }
        for (int i = 0; i < r.body().length; i++) {
            if (r.body()[i] != fill) {
                return "byte " + i + " of the body is " + (r.body()[i] & 0xff) + ", expected '" + (char) fill + "'";
            }
        }
        return null;
    }

    static String preview(byte[] body) {
        String s = new String(body, 0, Math.min(body.length, 60), StandardCharsets.ISO_8859_1);
        return '"' + s.replace("\r", "\\r").replace("\n", "\\n") + (body.length > 60 ? "...\"" : "\"");
    }

    /** Reads one whole response. */
    static Response read(InputStream in) throws IOException {
        return read(in, Long.MAX_VALUE);
    }

    /**
     * Reads one response, stopping once at least {@code bodyLimit} body bytes are in (then {@code
     * complete} is false unless the body ended exactly there). {@code in} should be buffered.
     */
    static Response read(InputStream in, long bodyLimit) throws IOException {
        String head = readHead(in);
        String[] lines = head.split("\r\n");
        if (!lines[0].startsWith("HTTP/1.1 ") || lines[0].length() < 12) {
            throw new MalformedException("status line " + lines[0]);
        }
        int status;
        try {
            status = Integer.parseInt(lines[0].substring(9, 12));
        } catch (NumberFormatException e) {
            throw new MalformedException("status line " + lines[0]);
        }
        Map<String, String> headers = new HashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                throw new MalformedException("header line " + lines[i]);
            }
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT),
                    lines[i].substring(colon + 1).trim());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                String sizeLine = readLine(in);
                int size;
                try {
                    size = Integer.parseInt(sizeLine.trim(), 16);
                } catch (NumberFormatException e) {
                    throw new MalformedException("chunk size line " + sizeLine);
                }
                if (size == 0) {
                    if (!readLine(in).isEmpty()) {
                        throw new MalformedException("trailer after the last chunk");
                    }
                    return new Response(status, headers, body.toByteArray(), true);
                }
                if (body.size() >= bodyLimit) {
                    return new Response(status, headers, body.toByteArray(), false);
                }
                body.write(readExactly(in, size));
                if (!readLine(in).isEmpty()) {
                    throw new MalformedException("no CRLF after a chunk of " + size + " bytes");
                }
            }
        }
        String length = headers.get("content-length");
        if (length == null) {
            throw new MalformedException("neither Content-Length nor chunked");
        }
        long n;
        try {
            n = Long.parseLong(length);
        } catch (NumberFormatException e) {
            throw new MalformedException("Content-Length " + length);
        }
        if (n > bodyLimit) {
            return new Response(status, headers, readExactly(in, (int) bodyLimit), false);
        }
        return new Response(status, headers, readExactly(in, (int) n), true);
    }

    private static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new EOFException("end of stream after " + b.length + " of " + n + " body bytes");
        }
        return b;
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException(b.length() == 0 ? "end of stream before any response"
                        : "end of stream in the response head");
            }
            b.append((char) c);
            int len = b.length();
            if (len >= 4 && b.charAt(len - 1) == '\n' && b.charAt(len - 2) == '\r' && b.charAt(len - 3) == '\n'
                    && b.charAt(len - 4) == '\r') {
                return b.substring(0, len - 4);
            }
            if (len > MAX_HEAD) {
                throw new MalformedException("response head over " + MAX_HEAD + " bytes");
            }
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new EOFException("end of stream in a chunked body");
            }
            if (c == '\n') {
                if (b.length() == 0 || b.charAt(b.length() - 1) != '\r') {
                    throw new MalformedException("bare LF in a chunked body");
                }
                return b.substring(0, b.length() - 1);
            }
            b.append((char) c);
            if (b.length() > 64) {
                throw new MalformedException("chunk line over 64 bytes");
            }
        }
    }

    /** A socket to {@code server} with the soak's timeouts. */
    static Socket connect(InetSocketAddress server) throws IOException {
        Socket s = new Socket();
        try {
            s.connect(server, TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /**
     * GET /stats on a fresh connection: the server's counters as numbers, or null when the server
     * refused (503: at its limit) or could not be reached.
     */
    static Map<String, Long> stats(InetSocketAddress server) {
        try (Socket s = connect(server)) {
            s.getOutputStream().write(request("/stats", true));
            Response r = read(new java.io.BufferedInputStream(s.getInputStream()));
            if (r.status() != 200) {
                return null;
            }
            Map<String, Long> out = new HashMap<>();
            for (String kv : new String(r.body(), StandardCharsets.US_ASCII).trim().split("\\s+")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    out.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
                }
            }
            return out;
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }
}
