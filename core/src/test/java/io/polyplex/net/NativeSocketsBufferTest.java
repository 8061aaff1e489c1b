package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.internal.SocketLibrary;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link NativeSockets#recv} and {@link NativeSockets#send} with every kind of buffer: only the bytes
 * moved change (java.nio's rule), heap buffers pass through bounded direct memory rather than
 * jnr-ffi's whole-region copies, and read-only buffers are refused as a read's target.
 */
@Timeout(120)
class NativeSocketsBufferTest {

    /** Heap, direct, sliced heap (non-zero array offset), sliced direct and wrapped-with-offset. */
    private static List<ByteBuffer> buffers(int capacity) {
        List<ByteBuffer> list = new ArrayList<>();
        list.add(ByteBuffer.allocate(capacity));
        list.add(ByteBuffer.allocateDirect(capacity));
        list.add(ByteBuffer.allocate(capacity + 9).position(9).slice());
        list.add(ByteBuffer.allocateDirect(capacity + 9).position(9).slice());
        list.add(ByteBuffer.wrap(new byte[capacity + 20], 11, capacity).slice());
        return list;
    }

    private static String describe(ByteBuffer b) {
        return (b.isDirect() ? "direct " : "heap ") + b + (b.hasArray() ? " arrayOffset " + b.arrayOffset() : "");
    }

    @Test
    void aShortReadChangesOnlyTheBytesItRead() throws Exception {
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        try {
            for (ByteBuffer b : buffers(64)) {
                for (int i = 0; i < b.capacity(); i++) {
                    b.put(i, (byte) 0x55);
                }
                b.position(3).limit(40);
                send(pair[1], new byte[] {1, 2, 3, 4, 5});
                assertEquals(5, recvSome(pair[0], b), describe(b));
                assertEquals(8, b.position(), describe(b));
                assertEquals(40, b.limit(), describe(b));
                ByteBuffer all = b.duplicate().clear();
                for (int i = 0; i < all.capacity(); i++) {
                    byte want = i >= 3 && i < 8 ? (byte) (i - 2) : 0x55;
                    assertEquals(want, all.get(i), "byte " + i + " of " + describe(b));
                }
            }
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    @Test
    void aSendTakesExactlyPositionToLimitFromEveryKindOfBuffer() throws Exception {
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        try {
            List<ByteBuffer> sources = buffers(64);
            sources.add(ByteBuffer.allocate(64).asReadOnlyBuffer());
            sources.add(ByteBuffer.allocateDirect(64).asReadOnlyBuffer());
            for (ByteBuffer b : sources) {
                ByteBuffer fill = b.isReadOnly() ? null : b.duplicate().clear();
                for (int i = 0; fill != null && i < fill.capacity(); i++) {
                    fill.put(i, (byte) (i * 3 + 1));
                }
                b.position(3).limit(40);
                byte[] expected = new byte[37];
                b.get(3, expected);
                int sent = 0;
                while (b.hasRemaining()) {
                    sent += NativeSockets.send(pair[0].getFD(), b);
                }
                assertEquals(37, sent, describe(b));
                assertEquals(40, b.position(), describe(b));
                ByteBuffer in = ByteBuffer.allocate(64);
                while (in.position() < 37) {
                    recvSome(pair[1], in);
                }
                assertEquals(37, in.position(), "more than position to limit was sent from " + describe(b));
                byte[] got = new byte[37];
                in.get(0, got);
                assertArrayEquals(expected, got, describe(b));
            }
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    @Test
    void aReadOnlyBufferIsNoReadTarget() throws Exception {
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        try {
            send(pair[1], new byte[] {9});
            for (ByteBuffer b : new ByteBuffer[] {ByteBuffer.allocate(8).asReadOnlyBuffer(),
                    ByteBuffer.allocateDirect(8).asReadOnlyBuffer()}) {
                assertThrows(IllegalArgumentException.class, () -> NativeSockets.recv(pair[0].getFD(), b), describe(b));
            }
            assertEquals(1, recvSome(pair[0], ByteBuffer.allocate(8)), "the refused reads consumed the byte");
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    /**
     * The calls themselves: a heap buffer never reaches the binding (jnr-ffi would copy its whole
     * position-to-limit region, both ways, for every call), and each call moves at most one staging
     * buffer's worth; a direct buffer goes to the binding as it is. 64 MiB round trips intact.
     */
    @Test
    void heapBytesGoThroughBoundedDirectMemoryAndArriveIntact() throws Exception {
        List<String> violations = new ArrayList<>();
        long[] largest = {0};
        SocketLibrary real = SocketLibrary.INSTANCE;
        SocketLibrary watched = (SocketLibrary) Proxy.newProxyInstance(SocketLibrary.class.getClassLoader(),
                new Class<?>[] {SocketLibrary.class}, (proxy, m, args) -> {
                    if (m.getName().equals("send") || m.getName().equals("recv")) {
                        if (args[1] instanceof ByteBuffer && !((ByteBuffer) args[1]).isDirect()) {
                            violations.add(m.getName() + " was given a heap buffer");
                        }
                        if (!(args[1] instanceof ByteBuffer)) {
                            largest[0] = Math.max(largest[0], (Long) args[2]);
                        }
                    }
                    try {
                        return m.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        SocketCalls calls = new SocketCalls(watched);
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        try {
            byte[] data = new byte[64 << 20];
            new Random(21).nextBytes(data);
            byte[] received = new byte[data.length];
            ByteBuffer src = ByteBuffer.wrap(data);
            ByteBuffer dst = ByteBuffer.wrap(received);
            while (dst.hasRemaining()) {
                if (src.hasRemaining()) {
                    calls.send(pair[0].getFD(), src);
                }
                int n = calls.recv(pair[1].getFD(), dst);
                assertTrue(n >= 0, "end of stream");
            }
            assertFalse(src.hasRemaining());
            assertArrayEquals(data, received, "the bytes arrived changed");
            assertEquals(List.of(), violations);
            assertTrue(largest[0] > 0 && largest[0] <= StagingBuffers.SIZE,
                    "a call moved " + largest[0] + " bytes through direct memory");
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    private static void send(NativeSocketChannel ch, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            NativeSockets.send(ch.getFD(), b);
        }
    }

    /** One recv that returns something, trying again while nothing has arrived yet. */
    private static int recvSome(NativeSocketChannel ch, ByteBuffer b) throws IOException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            int n = NativeSockets.recv(ch.getFD(), b);
            if (n != 0 || System.nanoTime() > deadline) {
                return n;
            }
            Thread.onSpinWait();
        }
    }
}
