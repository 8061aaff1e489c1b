package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.conformance.Faults;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jnr.constants.platform.Fcntl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * fcntl through {@link VariadicFunction} as its callers use it: from many threads at once, each
 * reading its own errno right after its own call, and through the fault-injecting binding wrapper
 * the conformance suite puts around {@link LibC} (a default method goes through the proxy like any
 * other).
 */
@Timeout(60)
class VariadicFunctionTest {

    private static final int GETFD = Fcntl.F_GETFD.intValue();

    @Test
    void eachThreadSeesTheErrnoOfItsOwnCall() throws Exception {
        int[] fds = new int[2];
        assertEquals(0, LibC.INSTANCE.pipe(fds));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int me = t;
                Callable<String> run = () -> {
                    for (int i = 0; i < 2_000; i++) {
                        if ((i + me) % 2 == 0) {
                            if (LibC.INSTANCE.fcntl(-1 - me, GETFD, 0) != -1 || LibC.errno() != NativeErrors.EBADF) {
                                return "call " + i + ": fcntl(-" + (1 + me) + ") errno " + LibC.errno();
                            }
                        } else if (LibC.INSTANCE.fcntl(fds[0], GETFD, 0) < 0) {
                            return "call " + i + ": fcntl on an open pipe failed, errno " + LibC.errno();
                        }
                    }
                    return "";
                };
                runs.add(pool.submit(run));
            }
            for (Future<String> r : runs) {
                assertEquals("", r.get());
            }
        } finally {
            pool.shutdownNow();
            LibC.INSTANCE.close(fds[0]);
            LibC.INSTANCE.close(fds[1]);
        }
    }

    @Test
    void faultsReachTheDefaultMethodAndTheRealCallFollows() {
        Faults faults = new Faults();
        LibC wrapped = faults.wrap(LibC.class, LibC.INSTANCE, LibC.RUNTIME);
        int[] fds = new int[2];
        assertEquals(0, LibC.INSTANCE.pipe(fds));
        try {
            faults.failNth("fcntl", 1, NativeErrors.EINTR);
            assertEquals(-1, wrapped.fcntl(fds[0], GETFD, 0));
            assertEquals(NativeErrors.EINTR, LibC.errno());
            assertTrue(wrapped.fcntl(fds[0], GETFD, 0) >= 0, "the second call is the real one");
        } finally {
            LibC.INSTANCE.close(fds[0]);
            LibC.INSTANCE.close(fds[1]);
        }
    }
}
