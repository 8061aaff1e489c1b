package io.polyplex.bench.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The soak's verdicts without a server: the flatness judge fails leaks and passes noise (every case
 * of {@link SelfCheck}), and the client-side HTTP reading tells a right body from a wrong one.
 */
class SoakJudgeTest {

    @Test
    void everySyntheticSeriesGetsTheExpectedVerdict() {
        for (SelfCheck.Case c : SelfCheck.cases()) {
            Flatness.Verdict v = SelfCheck.verdict(c);
            assertEquals(c.expectPass(), v.pass(), c.name() + ": " + v.reasons());
        }
    }

    @Test
    void aSeriesNotAvailableHereIsNotJudged() {
        List<Flatness.Point> none = new ArrayList<>();
        for (int t = 0; t <= 600; t += 10) {
            none.add(new Flatness.Point(t, Double.NaN));
        }
        Flatness.Verdict v = Flatness.judge("threads", "threads", none, 600, new Flatness.Count(4, 7, "test"));
        assertFalse(v.judged());
        assertTrue(v.pass(), "an unavailable series neither passes nor fails the run");
    }

    @Test
    void warmUpIsAFifthOfTheRunAtLeastAMinuteAtMostHalfOfIt() {
        assertEquals(120, Flatness.warmupSeconds(600), 1e-9);
        assertEquals(60, Flatness.warmupSeconds(120), 1e-9);
        assertEquals(6, Flatness.warmupSeconds(12), 1e-9);
    }

    @Test
    void heapInfoOfG1AndOfAGenerationalCollectorIsParsed() {
        String g1 = """
                12345:
                 garbage-first heap   total 131072K, used 3724K [0x00000000f8000000, 0x0000000100000000)
                  region size 1024K, 0 young (0K), 0 survivors (0K)
                 Metaspace       used 5341K, committed 5504K, reserved 1114112K
                  class space    used 558K, committed 640K, reserved 1048576K
                """;
        assertEquals(3724, ProcessProbe.parseHeapUsedKiB(g1));
        String serial = """
                 def new generation   total 39296K, used 1000K [0x0, 0x0, 0x0)
                 tenured generation   total 87424K, used 2000K [0x0, 0x0, 0x0)
                 Metaspace       used 5341K, committed 5504K, reserved 1114112K
                """;
        assertEquals(3000, ProcessProbe.parseHeapUsedKiB(serial));
        assertEquals(-1, ProcessProbe.parseHeapUsedKiB("12345:\nCommand executed successfully\n"));
    }

    private static Http.Response read(String wire, long limit) throws IOException {
        return Http.read(new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1)), limit);
    }

    @Test
    void aChunkedBodyIsDecodedAndAWrongByteIsFound() throws IOException {
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
        String chunk = "400\r\n" + "x".repeat(1024) + "\r\n";
        Http.Response ok = read(head + chunk + chunk + "0\r\n\r\n", Long.MAX_VALUE);
        assertNull(Http.mismatch(ok, 200, Http.bigBody(2)));
        Http.Response wrong = read(head + chunk + "400\r\n" + "x".repeat(1000) + "y" + "x".repeat(23) + "\r\n0\r\n\r\n",
                Long.MAX_VALUE);
        assertNotNull(Http.mismatch(wrong, 200, Http.bigBody(2)));
        Http.Response prefix = read(head + chunk + chunk, 1024);
        assertFalse(prefix.complete());
        assertNull(Http.prefixMismatch(prefix, (byte) 'x'));
        assertThrows(EOFException.class, () -> read(head + chunk + "400\r\nxx", Long.MAX_VALUE), "cut off mid-chunk");
        assertThrows(Http.MalformedException.class, () -> read(head + "zz\r\n", Long.MAX_VALUE));
    }

    @Test
    void theRefusalIsRecognisedAndAnythingElseIsNot() throws IOException {
        Http.Response refusal = read("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                Long.MAX_VALUE);
        assertTrue(Http.isRefusal(refusal));
        Http.Response root = read("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 28\r\n\r\n"
                + "hello from polyplex (epoll)\n", Long.MAX_VALUE);
        assertFalse(Http.isRefusal(root));
        assertNull(Http.mismatch(root, 200, Http.rootBody("epoll")));
        assertNotNull(Http.mismatch(root, 200, Http.rootBody("poll")), "the body names the backend");
    }
}
