package io.polyplex.internal;

import java.util.Arrays;

/**
 * Per-fd interest state of one queue, in arrays indexed by fd (no map, no boxing, no allocation
 * once an fd number has been seen). Each slot holds the socket the caller subscribed, its state bits
 * and a generation that changes whenever the slot is cleared or taken by another socket; the
 * 64-bit token handed to the kernel is {@code generation << 32 | fd}, so an event that was queued
 * for a previous occupant of the fd number is recognised and dropped.
 *
 * <p>Not thread-safe: the owning {@link PollerEventQueue} guards it with its state lock.
 */
final class InterestTable<S> {

    /** Subscribed directions: the same bits as {@link io.polyplex.SocketEvent#READ}/{@code WRITE}. */
    static final int SUBSCRIBED = 0b11;
    /** Disabled directions, shifted left by {@link #DISABLED_SHIFT}. */
    static final int DISABLED_SHIFT = 2;
    /** The fd is in the kernel's interest set (armed, or a fired one-shot that is still there). */
    static final int IN_KERNEL = 1 << 4;
    /** Trigger mode (a {@link io.polyplex.spi.Backend} trigger value), two bits. */
    static final int TRIGGER_SHIFT = 5;
    static final int TRIGGER_MASK = 0b11 << TRIGGER_SHIFT;

    private Object[] sockets;
    /** Generation (high 32 bits) and state bits (low 32) of each slot: one load per event. */
    private long[] meta;
    private int size;
    /** Counts every write to the table, so a reader can tell cheaply that nothing changed. */
    private int modCount;

    InterestTable(int initialCapacity) {
        int n = Math.max(16, initialCapacity);
        sockets = new Object[n];
        meta = new long[n];
    }

    static int subscribed(int state) {
        return state & SUBSCRIBED;
    }

    static int disabled(int state) {
        return (state >>> DISABLED_SHIFT) & SUBSCRIBED;
    }

    /** Directions that are subscribed and not disabled: what the kernel should report. */
    static int enabled(int state) {
        return subscribed(state) & ~disabled(state);
    }

    static int trigger(int state) {
        return (state & TRIGGER_MASK) >>> TRIGGER_SHIFT;
    }

    static int state(int subscribed, int disabled, int trigger, boolean inKernel) {
        return (subscribed & SUBSCRIBED) | ((disabled & subscribed & SUBSCRIBED) << DISABLED_SHIFT)
                | (trigger << TRIGGER_SHIFT) | (inKernel ? IN_KERNEL : 0);
    }

    static long token(int fd, int generation) {
        return ((long) generation << 32) | (fd & 0xffffffffL);
    }

    static int fdOf(long token) {
        return (int) token;
    }

    static int generationOf(long token) {
        return (int) (token >>> 32);
    }

    /** The socket in slot {@code fd}, or null (also for negative or never-seen fds). */
    @SuppressWarnings("unchecked")
    S socket(int fd) {
        return fd >= 0 && fd < sockets.length ? (S) sockets[fd] : null;
    }

    private static long pack(int generation, int state) {
        return ((long) generation << 32) | (state & 0xffff_ffffL);
    }

    /**
     * The state bits of {@code fd}'s slot if {@code token} is its current token, else {@link
     * #STALE}: the dispatch path's one lookup (a socket check and one load).
     */
    long stateIfCurrent(long token) {
        int fd = fdOf(token);
        if (fd < 0 || fd >= sockets.length || sockets[fd] == null) {
            return STALE;
        }
        long m = meta[fd];
        return (int) (m >>> 32) == generationOf(token) ? (int) m : STALE;
    }

    /** What {@link #stateIfCurrent} returns for a stale token; no state has bits above 31. */
    static final long STALE = -1L << 32;

    int state(int fd) {
        return fd >= 0 && fd < meta.length ? (int) meta[fd] : 0;
    }

    int generation(int fd) {
        return fd >= 0 && fd < meta.length ? (int) (meta[fd] >>> 32) : 0;
    }

    /** Whether {@code token} was issued for the current occupant of its fd. */
    boolean isCurrent(long token) {
        int fd = fdOf(token);
        return fd >= 0 && fd < sockets.length && sockets[fd] != null
                && (int) (meta[fd] >>> 32) == generationOf(token);
    }

    /**
     * The token for a new occupant of {@code fd}: the generation moves on, old tokens go stale.
     * Nothing grows here: the table grows in {@link #put}, after the backend accepted the fd, so a
     * number that is not open ({@code Integer.MAX_VALUE}, say) is refused by the kernel without
     * costing the table gigabytes first.
     */
    long nextToken(int fd) {
        if (fd < 0) {
            return token(fd, 0); // the backend will refuse the fd; nothing is stored
        }
        return token(fd, generation(fd) + 1);
    }

    /** The token of the current occupant of {@code fd}. */
    long currentToken(int fd) {
        return token(fd, generation(fd));
    }

    /** Puts {@code socket} in slot {@code fd} with {@code token}'s generation. */
    void put(int fd, S socket, int state, long token) {
        ensureCapacity(fd);
        if (sockets[fd] == null) {
            size++;
        }
        sockets[fd] = socket;
        meta[fd] = pack(generationOf(token), state);
        modCount++;
    }

    void setState(int fd, int state) {
        meta[fd] = (meta[fd] & 0xffff_ffff_0000_0000L) | (state & 0xffff_ffffL);
        modCount++;
    }

    /** Empties slot {@code fd}; its outstanding tokens go stale. */
    void clear(int fd) {
        if (fd >= 0 && fd < sockets.length && sockets[fd] != null) {
            sockets[fd] = null;
            meta[fd] = pack(generation(fd) + 1, 0);
            size--;
            modCount++;
        }
    }

    /** The fd whose slot holds {@code socket}, or -1: a scan, for sockets whose fd is no longer known. */
    int find(Object socket) {
        for (int fd = 0; fd < sockets.length; fd++) {
            if (sockets[fd] == socket) {
                return fd;
            }
        }
        return -1;
    }

    /** The number of writes so far (put, setState, clear); wraps, compared only for equality. */
    int modCount() {
        return modCount;
    }

    int size() {
        return size;
    }

    private void ensureCapacity(int fd) {
        if (fd >= sockets.length) {
            int n = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(fd + 1L, sockets.length * 2L));
            sockets = Arrays.copyOf(sockets, n);
            meta = Arrays.copyOf(meta, n);
        }
    }
}
