package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The wakeup channel on a real pipe: flags, coalescing, drain, stickiness after close. */
@Timeout(60)
class SelfPipeTest {

    private final LibC libc = LibC.INSTANCE;
    private final Pointer buf = Memory.allocateDirect(LibC.RUNTIME, 4096);

    /** Bytes waiting in the pipe, read out (non-blocking read end). */
    private int readAll(int fd) {
        int total = 0;
        long n;
        while ((n = libc.read(fd, buf, 4096)) > 0) {
            total += (int) n;
        }
        return total;
    }

    @Test
    void bothEndsAreCloseOnExecAndNonBlocking() throws Exception {
        try (SelfPipe pipe = new SelfPipe()) {
            for (int fd : new int[] {pipe.readFd(), pipe.writeFd()}) {
                assertEquals(1, libc.fcntl(fd, Fcntl.F_GETFD.intValue(), 0) & 1, "FD_CLOEXEC on fd " + fd);
                int nonblock = OpenFlags.O_NONBLOCK.intValue();
                assertEquals(nonblock, libc.fcntl(fd, Fcntl.F_GETFL.intValue(), 0) & nonblock, "O_NONBLOCK on fd " + fd);
            }
        }
    }

    @Test
    void manySignalsWriteOneByteAndDrainRearms() throws Exception {
        try (SelfPipe pipe = new SelfPipe()) {
            for (int i = 0; i < 100_000; i++) {
                pipe.signal();
            }
            pipe.drain();
            // The drain consumed the single byte; the pipe is empty and a new signal writes again.
            assertEquals(0, readAll(pipe.readFd()));
            pipe.signal();
            pipe.signal();
            assertEquals(1, readAll(pipe.readFd()));
        }
    }

    @Test
    void signalForeverSurvivesDrain() throws Exception {
        try (SelfPipe pipe = new SelfPipe()) {
            pipe.signalForever();
            pipe.drain();
            assertEquals(1, readAll(pipe.readFd()), "still readable after drain");
        }
    }

    /**
     * After close, a signal writes nothing anywhere: socket pairs opened right after take the old
     * numbers back ({@code FdReuse}), and a stray write into the old write end's number would show.
     */
    @Test
    void signalAfterCloseWritesNothingAnywhere() throws Exception {
        SelfPipe pipe = new SelfPipe();
        int writeFd = pipe.writeFd();
        pipe.close();
        pipe.close(); // idempotent
        io.polyplex.conformance.FdReuse.Reused reused = io.polyplex.conformance.FdReuse.take(
                java.util.Set.of(pipe.readFd(), writeFd));
        try {
            assertTrue(reused.taken().contains(writeFd), "fd " + writeFd + " was not taken back: " + reused.taken());
            pipe.signal();
            pipe.signalForever();
            for (jnr.enxio.channels.NativeSocketChannel[] p : reused.pairs()) {
                for (jnr.enxio.channels.NativeSocketChannel end : p) {
                    assertEquals(0, readAll(end.getFD()), "the closed pipe wrote into fd " + writeFd + "'s new owner");
                }
            }
        } finally {
            reused.close();
        }
    }
}
