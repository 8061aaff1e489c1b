package io.polyplex.net;

import io.polyplex.internal.SocketLibrary;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;
import jnr.ffi.Pointer;

/**
 * The direct memory that a heap buffer's bytes pass through on their way to or from a socket, as
 * the JDK's own channels pass them through per-thread temporary direct buffers ({@code
 * sun.nio.ch.Util.getTemporaryDirectBuffer}).
 *
 * <p>Why not let jnr-ffi pass the heap buffer: it copies the buffer's whole position-to-limit region
 * into native memory before the call and back after it, both ways whatever the call did. A 5-byte
 * read into a 40-byte region then rewrites all 40 bytes (with whatever the native memory held, for a
 * buffer passed as an output only), and every call costs as much as the region is large, not as
 * the bytes it moved. Here a call moves at most {@link #SIZE} bytes through a staging buffer, and
 * only the bytes the kernel really moved are copied into the heap buffer.
 *
 * <p>Not per thread: a virtual thread per connection would pin a staging buffer per connection.
 * A staging buffer is held only across one non-blocking system call and one copy, never across a
 * park, so a few are enough for the whole process: a small lock-free cache of them, sized by the
 * processors, hands one out and takes it back; when every one is in use a new one is made (and
 * dropped to the garbage collector if the cache is full when it comes back). In steady state with
 * no more concurrent calls than the cache holds, nothing is allocated.
 *
 * <p>Thread-safe.
 */
final class StagingBuffers {

    /** The most bytes one call moves through a staging buffer: a short read or write beyond it. */
    static final int SIZE = 128 * 1024;

    /** A staging buffer: its memory as a direct buffer (for copies) and as a pointer (for calls). */
    static final class Staging {
        final ByteBuffer buffer = ByteBuffer.allocateDirect(SIZE);
        final Pointer address = Pointer.wrap(SocketLibrary.RUNTIME, buffer);
    }

    private static final int SLOTS = Integer.highestOneBit(
            Math.max(4, Math.min(64, 2 * Runtime.getRuntime().availableProcessors())) * 2 - 1);
    private static final AtomicReferenceArray<Staging> CACHE = new AtomicReferenceArray<>(SLOTS);

    private StagingBuffers() {
    }

    /** A staging buffer for one call; give it back with {@link #give}. */
    static Staging take() {
        int start = start();
        for (int i = 0; i < SLOTS; i++) {
            Staging s = CACHE.getAndSet((start + i) & (SLOTS - 1), null);
            if (s != null) {
                return s;
            }
        }
        return new Staging();
    }

    /** Returns a staging buffer taken with {@link #take}; the caller must not touch it again. */
    static void give(Staging s) {
        int start = start();
        for (int i = 0; i < SLOTS; i++) {
            if (CACHE.compareAndSet((start + i) & (SLOTS - 1), null, s)) {
                return;
            }
        }
    }

    /** Where a thread starts looking: spread threads over the cache so they rarely collide. */
    private static int start() {
        int h = System.identityHashCode(Thread.currentThread());
        return h ^ (h >>> 16);
    }
}
