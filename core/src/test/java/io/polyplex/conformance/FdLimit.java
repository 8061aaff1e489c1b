package io.polyplex.conformance;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import jnr.constants.platform.RLIMIT;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.posix.RLimit;

/** Makes room for a test that opens many descriptors: raises the soft RLIMIT_NOFILE if needed. */
public final class FdLimit {

    private FdLimit() {}

    /**
     * A start for fcntl(F_DUPFD) near the top of what this process may open, raising the soft
     * RLIMIT_NOFILE to the hard one (at most 8192) first: an fd number as high as the limits allow,
     * so a test of high numbers runs even where the hard limit is only 4096. Skips the test if the
     * limit does not reach above {@code floor} (FD_SETSIZE).
     */
    public static int highStart(int floor) {
        POSIX posix = POSIXFactory.getNativePOSIX();
        int resource = RLIMIT.RLIMIT_NOFILE.intValue();
        RLimit limit = posix.getrlimit(resource);
        long soft = limit.rlimCur();
        long hard = limit.rlimMax();
        long cap = hard < 0 ? 8192 : Math.min(hard, 8192);
        if (soft >= 0 && soft < cap && posix.setrlimit(resource, cap, hard) != 0) {
            cap = soft;
        }
        assumeTrue(cap - 16 > floor, "RLIMIT_NOFILE " + cap + " leaves no fd number above " + floor);
        return (int) cap - 16;
    }

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
