package io.polyplex.bench;

/**
 * Sizes shared by the JMH workloads and the C floor, so every ratio compares equal setups.
 */
final class Workloads {

    /** Workload 1: watched endpoints and how many of them are readable. */
    static final int DISPATCH_REGISTERED = 1000;
    static final int DISPATCH_READY = 100;
    /** Workload 4: endpoints each put through subscribe, disable, re-subscribe, remove. */
    static final int CHURN_SOCKETS = 1000;
    static final int CHURN_OPS_PER_SOCKET = 4;
    /**
     * select(2) cannot watch an fd at or above FD_SETSIZE (1024), and the JVM holds a few dozen fds
     * of its own below that, so where the others watch 1,000 endpoints select watches 900 (and so
     * does the C floor's select, so their ratio stays fair).
     */
    static final int SELECT_CAP = 900;

    private Workloads() {
    }

    /** How many endpoints {@code impl} watches where the workload asks for {@code wanted}. */
    static int registeredFor(String impl, int wanted) {
        return impl.equals("select") && wanted > 1000 ? wanted // must fail: the limit is part of the result
                : impl.equals("select") ? Math.min(wanted, SELECT_CAP) : wanted;
    }
}
