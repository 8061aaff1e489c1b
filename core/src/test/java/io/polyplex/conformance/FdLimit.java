package io.polyplex.conformance;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import jnr.constants.platform.RLIMIT;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.posix.RLimit;

/** Makes room for a test that opens many descriptors: raises the soft RLIMIT_NOFILE if needed. */
public final class FdLimit {

    private FdLimit() {}

    /** Ensures at least {@code fds} descriptors may be open; skips the test if the hard limit is lower. */
    public static void ensure(long fds) {
        POSIX posix = POSIXFactory.getNativePOSIX();
        int resource = RLIMIT.RLIMIT_NOFILE.intValue();
        RLimit limit = posix.getrlimit(resource);
        long soft = limit.rlimCur();
        long hard = limit.rlimMax();
        if (soft >= 0 && soft < fds) { // negative: RLIM_INFINITY read as a signed value
            assumeTrue(hard < 0 || hard >= fds, "RLIMIT_NOFILE hard limit " + hard + " < " + fds);
            assumeTrue(posix.setrlimit(resource, fds, hard) == 0, "setrlimit(RLIMIT_NOFILE, " + fds + ") failed");
        }
    }
}
