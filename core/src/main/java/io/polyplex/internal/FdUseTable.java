package io.polyplex.internal;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * For each fd number, how many operations are passing it to a system call right now, and whether a
 * close of it is under way: what lets a close made through Polyplex keep the number from being
 * released (and handed to the next socket the process opens) while an operation may still use it.
 *
 * <p>Why: a thread woken from a wait is, for a moment, between its wake-up and its {@code recv(fd)}.
 * If another thread closes the fd in that moment and a new connection takes the number, the {@code
 * recv} reads the new connection's bytes. The JDK never lets that happen to its own channels: a
 * close first makes the number harmless, ends every operation in progress, and releases the number
 * only after the last one has left (in non-blocking mode it simply waits for them:
 * {@code SocketChannelImpl.implCloseNonBlockingMode} takes the read and write locks before it
 * closes). Polyplex's operations ({@code BlockingSockets}) only ever make non-blocking calls while
 * they hold a use (MSG_DONTWAIT, a non-blocking listener), so a close waits for them the same way:
 * never for more than one such call.
 *
 * <p>The protocol, per fd number:
 * <ol>
 *   <li>An operation calls {@link #enter} before its system call and {@link #exit} after it. While
 *       no close is under way, entering is one compare-and-set, with no lock and no allocation.
 *   <li>A close calls {@link #beginClose}: from then on, operations made for the same owner (or for
 *       the raw number) are refused, while the ones already inside finish. It ends the waits on the
 *       fd, calls {@link #awaitIdle} until the last operation has left, closes the fd, and calls
 *       {@link #endClose}.
 *   <li>An operation for a <em>different</em> owner that finds the number closing (a socket that was
 *       given the number in the instant between the close's close(2) and its {@code endClose}) waits
 *       for {@code endClose} and then goes on: it is not the fd being closed.
 * </ol>
 * After {@code endClose} the number is clean again. An operation made later for the closed channel
 * is refused by its caller's own check ({@code isOpen()}), which the close made false before it
 * released the number, and by the epoch (below).
 *
 * <p><b>Raw fds.</b> A raw fd has no identity but its number, so each number also has an
 * <em>epoch</em> that every close through Polyplex moves on. An operation remembers the epoch its
 * first {@link #enter} returned and passes it to every later one (and to its waits): once the number
 * was closed, even if it is open again as another socket, the operation is refused instead of
 * reaching that socket. Only an operation <em>begun</em> after the close can reach the new socket
 * (using a number after closing it is the caller's error, as in C).
 *
 * <p>Thread-safe. States live in pages of 1,024 fds, allocated on first use of a page and kept.
 */
public final class FdUseTable {

    /**
     * A number's state is one long: the epoch in the high 32 bits, this mark for a close under way,
     * and the count of operations inside in the bits below it.
     */
    private static final long CLOSING = 1L << 30;
    private static final long LOW = 0xffff_ffffL;
    /** What {@link #enter} takes for "the first use of this operation: any epoch". */
    public static final long ANY_EPOCH = -1;
    private static final int PAGE_SHIFT = 10;
    private static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    private static final int PAGE_MASK = PAGE_SIZE - 1;

    /** One page: the counts of 1,024 fd numbers and, for those closing, who closes them. */
    private static final class Page {
        final AtomicLongArray counts = new AtomicLongArray(PAGE_SIZE);
        /** The owner each closing fd is closed for (null for a raw fd); guarded by {@link #lock}. */
        final Object[] closers = new Object[PAGE_SIZE];
    }

    private volatile Page[] pages = new Page[4];
    /** Guards page allocation and the closers; with {@link #changed}, the waits of closes. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a closing fd's last operation leaves, and when a close ends. */
    private final Condition changed = lock.newCondition();

    /** An empty table: no fd in use, none closing, every epoch 0. */
    public FdUseTable() {
    }

    /**
     * Counts one more operation on {@code fd}, unless a close of it is under way or the number was
     * closed since the operation's first use of it.
     *
     * @param fd the fd number the operation will pass to a system call
     * @param owner the channel the operation was made for, or null for a raw fd
     * @param epoch {@link #ANY_EPOCH} for the operation's first use of the fd, else what that first
     *     call returned
     * @return the number's epoch (&gt;= 0) if the operation may go on (it must then call {@link
     *     #exit}); -1 if the fd is being closed for this owner (or, for a raw fd, at all), or was
     *     closed since {@code epoch}
     */
    public long enter(int fd, Object owner, long epoch) {
        Page page = page(fd);
        int i = fd & PAGE_MASK;
        while (true) {
            long s = page.counts.get(i);
            if (epoch != ANY_EPOCH && s >>> 32 != epoch) {
                return -1;
            }
            if ((s & CLOSING) == 0) {
                if (page.counts.compareAndSet(i, s, s + 1)) {
                    return s >>> 32;
                }
                continue;
            }
            lock.lock();
            try {
                if ((page.counts.get(i) & CLOSING) == 0) {
                    continue;
                }
                Object closer = page.closers[i];
                if (owner == null || closer == null || owner == closer) {
                    return -1;
                }
                // Another channel's close of this number: ours is a new socket that got the number
                // in the instant between that close's close(2) and its end. Wait for the end.
                changed.awaitUninterruptibly();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * The number's epoch now: what an operation that only waits (and makes no system call of its
     * own on the fd through this table) passes to its waits.
     *
     * @param fd the fd number
     * @return the epoch, &gt;= 0
     */
    public long epoch(int fd) {
        return page(fd).counts.get(fd & PAGE_MASK) >>> 32;
    }

    /**
     * Moves the number's epoch on without closing it: every operation and wait begun before is
     * refused from now on, as if the fd had been closed and opened again. For an owner that stops
     * using an fd it will close later itself ({@code BlockingAcceptor}'s shutdown on a shared
     * service).
     *
     * @param fd the fd number
     */
    public void revoke(int fd) {
        page(fd).counts.addAndGet(fd & PAGE_MASK, 1L << 32);
    }

    /**
     * Whether {@code fd} was closed through Polyplex since {@code epoch}.
     *
     * @param fd the fd number
     * @param epoch what an {@link #enter} of the operation returned, or {@link #ANY_EPOCH}
     * @return true if the number's epoch moved on since (never for {@code ANY_EPOCH})
     */
    public boolean closedSince(int fd, long epoch) {
        if (epoch == ANY_EPOCH) {
            return false;
        }
        Page[] p = pages;
        int n = fd >>> PAGE_SHIFT;
        long current = n < p.length && p[n] != null ? p[n].counts.get(fd & PAGE_MASK) >>> 32 : 0;
        return current != epoch;
    }

    /**
     * Counts an operation on {@code fd} out again; wakes a close waiting for it.
     *
     * @param fd the fd given to {@link #enter}, which returned true
     */
    public void exit(int fd) {
        Page page = pages[fd >>> PAGE_SHIFT];
        if ((page.counts.decrementAndGet(fd & PAGE_MASK) & LOW) == CLOSING) {
            lock.lock();
            try {
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Starts closing {@code fd}: operations for {@code owner} (or, for a raw fd, any) are refused
     * from now on. If another close of the number is under way, waits for it to end and returns
     * false: the fd is closed by then, and the caller must not close the number again (it may
     * already be another socket's).
     *
     * @param fd the fd number
     * @param owner the channel being closed, or null for a raw fd
     * @return true if the caller now closes the fd, and must then call {@link #endClose}
     */
    public boolean beginClose(int fd, Object owner) {
        Page page = page(fd);
        int i = fd & PAGE_MASK;
        lock.lock();
        try {
            while (true) {
                long s = page.counts.get(i);
                if ((s & CLOSING) != 0) {
                    while ((page.counts.get(i) & CLOSING) != 0) {
                        changed.awaitUninterruptibly();
                    }
                    return false;
                }
                if (page.counts.compareAndSet(i, s, s | CLOSING)) {
                    page.closers[i] = owner;
                    return true;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether a close of {@code fd} for {@code owner} is under way: a wait made now for that owner
     * would be on an fd about to be closed.
     *
     * @param fd the fd number
     * @param owner the channel, or null for a raw fd
     * @return true if {@link #enter} would refuse an operation for that owner now
     */
    public boolean closing(int fd, Object owner) {
        Page[] p = pages;
        int n = fd >>> PAGE_SHIFT;
        if (n >= p.length || p[n] == null || (p[n].counts.get(fd & PAGE_MASK) & CLOSING) == 0) {
            return false;
        }
        lock.lock();
        try {
            int i = fd & PAGE_MASK;
            if ((p[n].counts.get(i) & CLOSING) == 0) {
                return false;
            }
            Object closer = p[n].closers[i];
            return owner == null || closer == null || owner == closer;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits, without giving in to interrupts, until no operation is inside {@code fd}. Each one
     * inside is a single non-blocking system call, so this is short.
     *
     * @param fd a number this thread has {@link #beginClose begun closing}
     */
    public void awaitIdle(int fd) {
        Page page = pages[fd >>> PAGE_SHIFT];
        int i = fd & PAGE_MASK;
        if ((page.counts.get(i) & LOW) == CLOSING) {
            return;
        }
        lock.lock();
        try {
            while ((page.counts.get(i) & LOW) != CLOSING) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Ends a close: the number is clean again, and operations that waited for it go on.
     *
     * @param fd a number this thread has {@link #beginClose begun closing}
     */
    public void endClose(int fd) {
        Page page = pages[fd >>> PAGE_SHIFT];
        int i = fd & PAGE_MASK;
        lock.lock();
        try {
            page.closers[i] = null;
            // Operations that were refused never counted themselves in, so only the mark is left:
            // clear it and move the epoch on, so operations begun before the close stay out.
            page.counts.addAndGet(i, (1L << 32) - CLOSING);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private Page page(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("fd must not be negative: " + fd);
        }
        int n = fd >>> PAGE_SHIFT;
        Page[] p = pages;
        if (n < p.length && p[n] != null) {
            return p[n];
        }
        lock.lock();
        try {
            p = pages;
            if (n >= p.length) {
                Page[] bigger = new Page[Math.max(n + 1, p.length * 2)];
                System.arraycopy(p, 0, bigger, 0, p.length);
                p = bigger;
            }
            if (p[n] == null) {
                p[n] = new Page();
            }
            pages = p;
            return p[n];
        } finally {
            lock.unlock();
        }
    }
}
