package io.polyplex.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.NativeIOException;
import io.polyplex.SocketEvent;
import io.polyplex.Trigger;
import java.io.File;
import java.time.Duration;
import jnr.constants.platform.OpenFlags;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input gets a clear error and changes nothing: null arguments name themselves; negative,
 * closed and non-socket fds give a NativeIOException naming the call, the fd and the errno; the
 * queue keeps working afterwards.
 */
public abstract class ErrorContract extends ContractBase {

    private void assertRefused(NativeSocketChannel s, int fd, String errno) throws Exception {
        for (Executable call : new Executable[] {
                () -> queue.subscribeRead(s), () -> queue.subscribeWrite(s), () -> queue.subscribeReadWrite(s)}) {
            NativeIOException e = assertThrows(NativeIOException.class, call);
            String m = e.getMessage();
            assertTrue(m.contains("fd=" + fd), m);
            assertTrue(errno == null || m.contains(errno), m);
            assertTrue(m.matches("^[a-z_0-9]+\\(.*"), "message does not start with the call: " + m);
            assertTrue(m.contains("(") && m.lastIndexOf('(') > m.indexOf(':'), "no errno text: " + m);
            assertEquals(fd, e.fd());
            assertFalse(queue.isSubscribedRead(s) || queue.isSubscribedWrite(s), "half-registered after: " + m);
        }
        // The queue still works.
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        awaitEvent(p[0], SocketEvent.READ);
    }

    @Test
    void aNegativeFdIsRefusedWithEbadf() throws Exception {
        assertRefused(new NativeSocketChannel(-1), -1, "EBADF");
    }

    @Test
    void aClosedFdIsRefusedWithEbadf() throws Exception {
        NativeSocketChannel[] p = pair();
        int fd = p[0].getFD();
        p[0].close();
        p[1].close();
        assertRefused(new NativeSocketChannel(fd), fd, "EBADF");
    }

    @Test
    void aRegularFileIsRefused() throws Exception {
        File f = File.createTempFile("polyplex", ".txt");
        f.deleteOnExit();
        POSIX posix = POSIXFactory.getNativePOSIX();
        int fd = posix.open(f.getPath(), OpenFlags.O_RDONLY.intValue(), 0);
        assertTrue(fd >= 0);
        try {
            assertRefused(new NativeSocketChannel(fd), fd, null);
        } finally {
            posix.close(fd);
        }
    }

    @Test
    void nullArgumentsAreNamed() throws Exception {
        NativeSocketChannel s = pair()[0];
        for (Executable call : new Executable[] {
                () -> queue.subscribeRead(null), () -> queue.subscribeWrite(null), () -> queue.subscribeReadWrite(null),
                () -> queue.subscribe(null, SocketEvent.READ, Trigger.LEVEL), () -> queue.disableRead(null),
                () -> queue.disableWrite(null), () -> queue.disableReadWrite(null), () -> queue.remove(null),
                () -> queue.isSubscribedRead(null), () -> queue.isDisabledWrite(null)}) {
            NullPointerException e = assertThrows(NullPointerException.class, call);
            assertEquals("socket", e.getMessage());
        }
        assertEquals("trigger", assertThrows(NullPointerException.class,
                () -> queue.subscribe(s, SocketEvent.READ, null)).getMessage());
        assertEquals("handler", assertThrows(NullPointerException.class,
                () -> queue.poll(Duration.ZERO, null)).getMessage());
        assertFalse(queue.isSubscribedRead(s));
    }

    @Test
    void badOpsAndNegativeTimeoutsAreRefused() throws Exception {
        NativeSocketChannel s = pair()[0];
        assertThrows(IllegalArgumentException.class, () -> queue.subscribe(s, 0, Trigger.LEVEL));
        assertThrows(IllegalArgumentException.class, () -> queue.subscribe(s, SocketEvent.PEER_CLOSED, Trigger.LEVEL));
        assertThrows(IllegalArgumentException.class, () -> queue.poll(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> queue.poll(Duration.ofMillis(-1), (x, o) -> { }));
        assertFalse(queue.isSubscribedRead(s));
    }

    @Test
    void aHandlerExceptionPropagatesAndTheQueueGoesOn() throws Exception {
        NativeSocketChannel[] p = pair();
        queue.subscribeRead(p[0]);
        write(p[1], "x");
        IllegalStateException boom = new IllegalStateException("boom");
        assertEquals(boom, assertThrows(IllegalStateException.class,
                () -> queue.poll(EVENTUALLY, (s, ops) -> { throw boom; })));
        assertEquals(1, queue.poll(EVENTUALLY).size());
    }

}
