package io.polyplex.internal;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * The user-space interest list of the backends whose kernel call takes the whole set on every
 * wait (poll, select): one (fd, ops, token) entry per registered fd, and a snapshot of it for the
 * polling thread.
 *
 * <p>Changes ({@link #put}, {@link #remove}) come from core's state lock while another thread may be
 * waiting; {@link #snapshot()} copies the list, under the same small lock, into arrays only the
 * polling thread reads, so the kernel call itself runs without any lock and every event carries the
 * token that was current when its set was built. A snapshot is only copied when something changed,
 * so a steady-state poll allocates and copies nothing.
 */
public final class WatchList {

    private final Object lock = new Object();
    // Live list, guarded by lock. indexOf[fd] is the entry's index + 1, 0 if absent.
    private int[] fds = new int[64];
    private int[] ops = new int[64];
    private long[] tokens = new long[64];
    private int size;
    private int[] indexOf = new int[1024];
    private boolean changed = true;
    // Snapshot, owned by the polling thread.
    private int[] snapFds = new int[0];
    private int[] snapOps = new int[0];
    private long[] snapTokens = new long[0];
    private int snapSize;
    // The last wait's ready entries (indexes into the snapshot, and their bits), polling thread only.
    private int[] readyIndex = new int[64];
    private int[] readyOps = new int[64];
    private int readyCount;
    /** Where the next scan starts, so that more than {@code max} ready entries all get their turn. */
    private int scanStart;

    /**
     * An empty list. (Declared only to carry this comment: it is the constructor the compiler
     * would supply.)
     */
    public WatchList() {}

    /**
     * Adds or replaces the entry for {@code fd} (a backend checks the fd before calling). Seen by
     * the next {@link #snapshot()}, not by the wait in progress.
     *
     * @param fd the fd, not negative; it stays the caller's
     * @param token the value to report with its events
     * @param interest the backend's interest bits for it
     * @throws IllegalArgumentException if {@code fd} is negative
     */
    public void put(int fd, long token, int interest) {
        if (fd < 0) {
            throw new IllegalArgumentException("negative fd " + fd);
        }
        synchronized (lock) {
            if (fd >= indexOf.length) {
                indexOf = Arrays.copyOf(indexOf, Math.max(fd + 1, indexOf.length * 2));
            }
            int i = indexOf[fd] - 1;
            if (i < 0) {
                if (size == fds.length) {
                    fds = Arrays.copyOf(fds, size * 2);
                    ops = Arrays.copyOf(ops, size * 2);
                    tokens = Arrays.copyOf(tokens, size * 2);
                }
                i = size++;
                indexOf[fd] = i + 1;
                fds[i] = fd;
            }
            ops[i] = interest;
            tokens[i] = token;
            changed = true;
        }
    }

    /**
     * Removes the entry for {@code fd}, if any. Seen by the next {@link #snapshot()}.
     *
     * @param fd any number
     */
    public void remove(int fd) {
        synchronized (lock) {
            if (fd < 0 || fd >= indexOf.length || indexOf[fd] == 0) {
                return;
            }
            int i = indexOf[fd] - 1;
            int last = --size;
            if (i != last) {
                fds[i] = fds[last];
                ops[i] = ops[last];
                tokens[i] = tokens[last];
                indexOf[fds[i]] = i + 1;
            }
            indexOf[fd] = 0;
            changed = true;
        }
    }

    /**
     * Whether {@code fd} has an entry in the live list.
     *
     * @param fd any number
     * @return true if it was put and not removed since
     */
    public boolean contains(int fd) {
        synchronized (lock) {
            return fd >= 0 && fd < indexOf.length && indexOf[fd] != 0;
        }
    }

    /**
     * Brings the polling thread's snapshot up to date.
     *
     * @return whether it changed since the last call (a backend then re-marshals its native set)
     */
    public boolean snapshot() {
        synchronized (lock) {
            if (!changed) {
                return false;
            }
            if (snapFds.length < size) {
                int n = Math.max(size, snapFds.length * 2);
                snapFds = new int[n];
                snapOps = new int[n];
                snapTokens = new long[n];
            }
            System.arraycopy(fds, 0, snapFds, 0, size);
            System.arraycopy(ops, 0, snapOps, 0, size);
            System.arraycopy(tokens, 0, snapTokens, 0, size);
            snapSize = size;
            changed = false;
            return true;
        }
    }

    /**
     * Collects the ready entries of the snapshot after a wait: at most {@code max}, scanning
     * round-robin from where the last full batch stopped, so no ready fd is starved when more than
     * {@code max} are ready. Allocates nothing. Polling thread only.
     *
     * @param max the most entries to collect (the backend's event buffer)
     * @param readyAtMost an upper bound on the ready entries (the kernel's count), to stop early
     * @param opsOf the ready bits of snapshot entry {@code i}, 0 if it is not ready
     * @return how many were collected; read them with {@link #readyToken} and {@link #readyOps}
     */
    public int collectReady(int max, int readyAtMost, IntUnaryOperator opsOf) {
        int n = snapSize;
        if (readyIndex.length < n) {
            readyIndex = new int[n];
            readyOps = new int[n];
        }
        int cap = Math.min(max, n);
        int count = 0;
        int start = scanStart < n ? scanStart : 0;
        int last = -1;
        for (int k = 0; k < n && count < cap && count < readyAtMost; k++) {
            int i = start + k < n ? start + k : start + k - n;
            int ops = opsOf.applyAsInt(i);
            if (ops != 0) {
                readyIndex[count] = i;
                readyOps[count] = ops;
                count++;
                last = i;
            }
        }
        scanStart = count == cap && last >= 0 ? last + 1 : 0;
        readyCount = count;
        return count;
    }

    /**
     * The token of a collected event. Polling thread only.
     *
     * @param i the event's index, below what {@link #collectReady} returned
     * @return the entry's token as it was when the snapshot was taken
     */
    public long readyToken(int i) {
        return snapTokens[readyIndex[i]];
    }

    /**
     * The ready bits of a collected event. Polling thread only.
     *
     * @param i the event's index, below what {@link #collectReady} returned
     * @return the bits {@code opsOf} gave for it
     */
    public int readyOps(int i) {
        return readyOps[i];
    }

    /**
     * Entries in the snapshot. Polling thread only.
     *
     * @return the count as of the last {@link #snapshot()}
     */
    public int size() {
        return snapSize;
    }

    /**
     * The fd of a snapshot entry. Polling thread only.
     *
     * @param i the entry's index, below {@link #size()}
     * @return its fd
     */
    public int fd(int i) {
        return snapFds[i];
    }

    /**
     * The interest of a snapshot entry. Polling thread only.
     *
     * @param i the entry's index, below {@link #size()}
     * @return its interest bits, as given to {@link #put}
     */
    public int ops(int i) {
        return snapOps[i];
    }

    /**
     * The token of a snapshot entry. Polling thread only.
     *
     * @param i the entry's index, below {@link #size()}
     * @return its token, as given to {@link #put}
     */
    public long token(int i) {
        return snapTokens[i];
    }
}
