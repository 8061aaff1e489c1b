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
 * Errors and bad input: a null argument throws NullPointerException naming it; empty or unknown
 * ops and negative timeouts throw IllegalArgumentException; a negative, closed or non-socket fd
 * throws {@link NativeIOException} whose message starts with the system call and names the fd
 * ({@code fd=N}) and the errno ({@code EBADF}); a failed call leaves the socket's state exactly as
 * it was (nothing half-registered) and the queue keeps working; a handler's exception propagates
 * and the queue goes on.
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
            assertFalse(e.call() == null || e.call().isBlank(), "no system call named: " + m);
            assertEquals(m.substring(0, m.indexOf('(')), e.call(), "call() is the function's name alone: " + m);
            assertTrue(errno == null || errno.equals(e.errnoName()), e.errnoName());
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

    /**
     * A number far beyond any open fd (up to {@code Integer.MAX_VALUE}) is refused by the kernel
     * (or the backend's own check) with EBADF before the queue's per-fd table grows for it: found
     * by the adversarial suite, where one such subscribe cost hundreds of MiB of heap, and
     * {@code Integer.MAX_VALUE} an OutOfMemoryError.
     */
    @Test
    void aHugeFdNumberIsRefusedWithoutGrowingTheTable() throws Exception {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long before = rt.totalMemory() - rt.freeMemory();
        for (int fd : new int[] {1 << 24, 1 << 28, Integer.MAX_VALUE - 1, Integer.MAX_VALUE}) {
            NativeSocketChannel huge = new NativeSocketChannel(fd); // never closed: the number is not open
            NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribeRead(huge));
            assertTrue(e.getMessage().contains("fd=" + fd), e.getMessage());
        }
        System.gc();
        long grown = rt.totalMemory() - rt.freeMemory() - before;
        assertTrue(grown < 64L << 20, "the heap kept " + (grown >> 20) + " MiB after four refusals");
    }

    @Test
    void aClosedFdIsRefusedWithEbadf() throws Exception {
        NativeSocketChannel[] p = highPair(); // so nothing else reopens the number once it is closed
        int fd = p[0].getFD();
        p[0].close();
        p[1].close();
        assertRefused(new NativeSocketChannel(fd), fd, "EBADF");
    }

    /**
     * A failed change to a socket the queue knows (its fd was closed by the caller since) throws
     * NativeIOException and leaves the socket's state exactly as it was.
     */
    @Test
    void aFailedChangeLeavesTheStateAsItWas() throws Exception {
        NativeSocketChannel[] p = highPair(); // so nothing else reopens the number once it is closed
        queue.subscribeRead(p[0]);
        int fd = p[0].getFD();
        // Closed natively, behind the channel's back too (it still says it is open): the kernel
        // refuses. (A channel that says it is closed is refused before the kernel is asked.)
        jnr.posix.POSIXFactory.getNativePOSIX().close(fd);
        NativeIOException e = assertThrows(NativeIOException.class, () -> queue.subscribeWrite(p[0]));
        assertTrue(e.getMessage().contains("fd=" + fd) && e.getMessage().contains("EBADF"), e.getMessage());
        assertTrue(queue.isSubscribedRead(p[0]), "the failed call dropped the read subscription");
        assertFalse(queue.isSubscribedWrite(p[0]), "the failed call left write half-subscribed");
        assertFalse(queue.isDisabledRead(p[0]) || queue.isDisabledWrite(p[0]));
        queue.remove(p[0]); // and a late remove still succeeds
        assertFalse(queue.isSubscribedRead(p[0]));
        NativeSocketChannel[] q = pair();
        queue.subscribeRead(q[0]);
        write(q[1], "x");
        awaitEvent(q[0], SocketEvent.READ);
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
