package io.polyplex.demo;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The demo's HTTP/1.1 handling, free of any transport: finding the end of a request head, parsing
 * it, and building a response. Shared by {@link HttpServer} and the benchmarks' java.nio reference
 * server, so that a comparison between the two measures the event loop and the socket calls, not two
 * different parsers. Stateless and thread-safe.
 */
public final class HttpMessages {

    /** A parsed request head; {@code status} is 0, or the error status to answer with (400). */
    public record Head(int status, String error, String method, String path, String query, boolean keepAlive) {
        static Head bad(String error) {
            return new Head(400, error, null, null, null, false);
        }
    }

    private HttpMessages() {
    }

    /** The length of the request head at the start of {@code in} (0 to position), or -1 if incomplete. */
    public static int headEnd(ByteBuffer in) {
        for (int i = 3; i < in.position(); i++) {
            if (in.get(i) == '\n' && in.get(i - 1) == '\r' && in.get(i - 2) == '\n' && in.get(i - 3) == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /**
     * Parses the head of {@code headLength} bytes at the start of {@code in} and removes it, keeping
     * any pipelined bytes after it (the buffer is compacted, ready for the next read).
     */
    public static Head take(ByteBuffer in, int headLength) {
        Head head = parse(in, headLength);
        in.flip().position(headLength);
        in.compact();
        return head;
    }

    /** Parses by scanning bytes (no regular expressions: this runs once per request). */
    private static Head parse(ByteBuffer in, int end) {
        int lineEnd = crlf(in, 0, end);
        int sp1 = indexOf(in, ' ', 0, lineEnd);
        int sp2 = sp1 < 0 ? -1 : indexOf(in, ' ', sp1 + 1, lineEnd);
        if (sp1 <= 0 || sp2 < 0 || indexOf(in, ' ', sp2 + 1, lineEnd) >= 0 || sp2 + 1 == lineEnd) {
            return Head.bad("malformed request line\n");
        }
        String version = ascii(in, sp2 + 1, lineEnd);
        if (!version.startsWith("HTTP/1.") || in.get(sp1 + 1) != '/') {
            return Head.bad("malformed request line\n");
        }
        boolean keepAlive = version.equals("HTTP/1.1");
        for (int pos = lineEnd + 2; pos < end - 2; ) {
            int eol = crlf(in, pos, end);
            int colon = indexOf(in, ':', pos, eol);
            if (colon <= pos) {
                return Head.bad("malformed header\n");
            }
            if (colon - pos == CONNECTION.length() && equalsIgnoreCase(in, pos, CONNECTION)) {
                String value = ascii(in, colon + 1, eol).toLowerCase(Locale.ROOT);
                keepAlive = value.contains("keep-alive") || keepAlive && !value.contains("close");
            }
            pos = eol + 2;
        }
        String method = ascii(in, 0, sp1);
        String path = ascii(in, sp1 + 1, sp2);
        String query = "";
        int q = path.indexOf('?');
        if (q >= 0) {
            query = path.substring(q + 1);
            path = path.substring(0, q);
        }
        return new Head(0, null, method, path, query, keepAlive);
    }

    private static final String CONNECTION = "connection";

    /** The index of the next CR LF at or after {@code from}, or {@code end}. */
    private static int crlf(ByteBuffer in, int from, int end) {
        for (int i = from; i + 1 < end; i++) {
            if (in.get(i) == '\r' && in.get(i + 1) == '\n') {
                return i;
            }
        }
        return end;
    }

    private static int indexOf(ByteBuffer in, char c, int from, int end) {
        for (int i = from; i < end; i++) {
            if (in.get(i) == c) {
                return i;
            }
        }
        return -1;
    }

    private static boolean equalsIgnoreCase(ByteBuffer in, int at, String lower) {
        for (int i = 0; i < lower.length(); i++) {
            if (Character.toLowerCase((char) (in.get(at + i) & 0xff)) != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static String ascii(ByteBuffer in, int from, int to) {
        byte[] b = new byte[to - from];
        in.get(from, b);
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /**
     * The query parameter {@code name} as a whole number in [0, max]: {@code fallback} when the
     * query does not have it, -1 when its value is not such a number (a letter, a sign, a value
     * past {@code max}), so that the caller can refuse it rather than guess.
     */
    public static int param(String query, String name, int fallback, int max) {
        for (String kv : query.split("&")) {
            if (kv.startsWith(name + "=")) {
                String v = kv.substring(name.length() + 1);
                if (v.isEmpty() || v.length() > 10 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    return -1;
                }
                long n = Long.parseLong(v);
                return n <= max ? (int) n : -1;
            }
        }
        return fallback;
    }

    /** A complete text/plain response with Content-Length, ready to send (heap buffer, flipped). */
    public static ByteBuffer response(int status, String reason, String body, boolean keepAlive) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/plain\r\nContent-Length: "
                + bytes.length + "\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n";
        ByteBuffer out = ByteBuffer.allocate(head.length() + bytes.length);
        out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(bytes).flip();
        return out;
    }
}
