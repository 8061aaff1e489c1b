package io.polyplex.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The shared request parsing, on heap and direct buffers alike. */
class HttpMessagesTest {

    private static ByteBuffer received(String text, boolean direct) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer in = direct ? ByteBuffer.allocateDirect(8192) : ByteBuffer.allocate(8192);
        return in.put(b);
    }

    /** A parameter is its value, the fallback when absent, or -1 (refused) when not a whole number up to max. */
    @Test
    void aNumericParameterIsTheValueTheFallbackOrRefused() {
        assertEquals(7, HttpMessages.param("a=1&ms=7", "ms", 1000, 60_000));
        assertEquals(1000, HttpMessages.param("a=1", "ms", 1000, 60_000));
        assertEquals(60_000, HttpMessages.param("ms=60000", "ms", 1000, 60_000));
        for (String bad : new String[] {"ms=60001", "ms=-1", "ms=+1", "ms=", "ms=1e3", "ms= 5", "ms=99999999999999999999"}) {
            assertEquals(-1, HttpMessages.param(bad, "ms", 1000, 60_000), bad);
        }
    }

    @ParameterizedTest(name = "direct={0}")
    @ValueSource(booleans = {false, true})
    void parsesAHeadAndKeepsThePipelinedBytes(boolean direct) {
        ByteBuffer in = received("GET /big?kb=3&x=1 HTTP/1.1\r\nHost: a\r\nCONNECTION: Keep-Alive\r\n\r\nGET /", direct);
        int end = HttpMessages.headEnd(in);
        assertEquals(63, end);
        HttpMessages.Head h = HttpMessages.take(in, end);
        assertEquals(0, h.status());
        assertEquals("GET", h.method());
        assertEquals("/big", h.path());
        assertEquals(3, HttpMessages.param(h.query(), "kb", 64, 100));
        assertTrue(h.keepAlive());
        assertEquals(5, in.position(), "the next request's first bytes stay, at the start");
        assertEquals('G', in.get(0));
        assertEquals(-1, HttpMessages.headEnd(in));
    }

    @ParameterizedTest(name = "{0} -> keepAlive={1}")
    @CsvSource(delimiter = '|', value = {
        "GET / HTTP/1.1\\r\\n\\r\\n|true",
        "GET / HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n|false",
        "GET / HTTP/1.0\\r\\n\\r\\n|false",
        "GET / HTTP/1.0\\r\\nconnection: keep-alive\\r\\n\\r\\n|true"})
    void keepAliveFollowsVersionAndConnectionHeader(String request, boolean keepAlive) {
        String text = request.replace("\\r\\n", "\r\n");
        ByteBuffer in = received(text, false);
        HttpMessages.Head h = HttpMessages.take(in, HttpMessages.headEnd(in));
        assertEquals(0, h.status(), h.error());
        assertEquals(keepAlive, h.keepAlive());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "GET /\\r\\n\\r\\n", "GET  / HTTP/1.1\\r\\n\\r\\n", "GET / HTTP/2\\r\\n\\r\\n", "GET x HTTP/1.1\\r\\n\\r\\n",
        "GET / HTTP/1.1 extra\\r\\n\\r\\n", "GET / HTTP/1.1\\r\\nno colon here\\r\\n\\r\\n",
        "GET / HTTP/1.1\\r\\n: empty name\\r\\n\\r\\n"})
    void malformedHeadsAre400(String request) {
        ByteBuffer in = received(request.replace("\\r\\n", "\r\n"), false);
        HttpMessages.Head h = HttpMessages.take(in, HttpMessages.headEnd(in));
        assertEquals(400, h.status());
        assertFalse(h.keepAlive());
        assertEquals(0, in.position(), "the bad head is consumed");
    }
}
