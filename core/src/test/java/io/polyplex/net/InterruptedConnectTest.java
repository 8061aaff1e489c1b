package io.polyplex.net;

import io.polyplex.internal.SocketLibrary;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.polyplex.NativeIOException;
import io.polyplex.internal.NativeErrors;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import jnr.constants.platform.AddressFamily;
import jnr.constants.platform.Errno;
import jnr.constants.platform.Fcntl;
import jnr.constants.platform.OpenFlags;
import jnr.constants.platform.Sock;
import jnr.enxio.channels.NativeServerSocketChannel;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A blocking connect(2) interrupted by a signal, as the BSDs answer it. A signal cannot be made to
 * land inside connect here on demand, so the binding is wrapped: its first connect starts the real
 * handshake (non-blocking, on the real kernel) and reports EINTR, as an interrupted blocking connect
 * does while the kernel goes on connecting (POSIX connect(2)). A later connect is answered by the
 * real kernel's non-blocking connect, which says what FreeBSD's {@code kern_connectat} says to a
 * repeated blocking one: EALREADY while the handshake runs, EISCONN once it is done. Only Linux's
 * blocking connect waits again, which is why the old retry loop passed every test here.
 */
@Timeout(60)
class InterruptedConnectTest {

    private static final SocketLibrary REAL = SocketLibrary.INSTANCE;

    /** The binding, with connect(2) interrupted the first time and the calls counted. */
    private static SocketLibrary interruptedOnce(AtomicInteger connects) {
        return (SocketLibrary) Proxy.newProxyInstance(SocketLibrary.class.getClassLoader(),
                new Class<?>[] {SocketLibrary.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("connect")) {
                        try {
                            return method.invoke(REAL, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    }
                    int fd = (int) args[0];
                    int flags = REAL.fcntl(fd, Fcntl.F_GETFL.intValue(), 0);
                    REAL.fcntl(fd, Fcntl.F_SETFL.intValue(), flags | OpenFlags.O_NONBLOCK.intValue());
                    int r = REAL.connect(fd, (Pointer) args[1], (int) args[2]);
                    int errno = SocketLibrary.RUNTIME.getLastError();
                    REAL.fcntl(fd, Fcntl.F_SETFL.intValue(), flags);
                    if (connects.incrementAndGet() == 1 && (r == 0 || errno == Errno.EINPROGRESS.intValue())) {
                        SocketLibrary.RUNTIME.setLastError(NativeErrors.EINTR);
                        return -1;
                    }
                    SocketLibrary.RUNTIME.setLastError(errno);
                    return r;
                });
    }

    private static int blockingSocket() {
        int fd = REAL.socket(AddressFamily.AF_INET.intValue(), Sock.SOCK_STREAM.intValue(), 0);
        assertTrue(fd >= 0, "socket()");
        return fd;
    }

    private static Pointer sockaddr(InetSocketAddress at, int[] len) {
        Pointer sa = Memory.allocateDirect(SocketLibrary.RUNTIME, 128, true);
        len[0] = SocketCalls.encode(at.getAddress(), at.getPort(), sa);
        return sa;
    }

    @SuppressWarnings("try") // the channel is there only to close fd at the end; the test uses fd itself
    @Test
    void anInterruptedConnectIsWaitedForNotRepeated() throws Exception {
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8)) {
            InetSocketAddress at = (InetSocketAddress) NativeSockets.localAddress(server.getFD());
            int fd = blockingSocket();
            try (NativeSocketChannel client = new NativeSocketChannel(fd)) {
                AtomicInteger connects = new AtomicInteger();
                int[] len = new int[1];
                SocketCalls.connectBlocking(interruptedOnce(connects), fd, sockaddr(at, len), len[0], "connect(test");
                assertEquals(1, connects.get(), "connect(2) was called again after EINTR");
                // Really connected: a byte goes through to the accepted side.
                NativeSocketChannel accepted = null;
                for (long end = System.nanoTime() + 20_000_000_000L; accepted == null && System.nanoTime() < end; ) {
                    accepted = NativeSockets.accept(server);
                    Thread.sleep(1);
                }
                assertTrue(accepted != null, "nothing to accept");
                try (NativeSocketChannel a = accepted) {
                    assertEquals(1, REAL.send(fd, ByteBuffer.wrap(new byte[] {42}), 1, 0));
                    ByteBuffer in = ByteBuffer.allocate(1);
                    for (long end = System.nanoTime() + 20_000_000_000L; in.hasRemaining() && System.nanoTime() < end; ) {
                        NativeSockets.recv(a.getFD(), in);
                    }
                    assertEquals(42, in.get(0));
                }
            }
        }
    }

    @SuppressWarnings("try") // the channel is there only to close fd at the end; the test uses fd itself
    @Test
    void anInterruptedConnectThatIsRefusedReportsTheRefusal() throws Exception {
        InetSocketAddress at;
        try (NativeServerSocketChannel server = NativeSockets.listen(new InetSocketAddress("127.0.0.1", 0), 8)) {
            at = (InetSocketAddress) NativeSockets.localAddress(server.getFD()); // closed again: nobody listens there now
        }
        int fd = blockingSocket();
        try (NativeSocketChannel client = new NativeSocketChannel(fd)) {
            AtomicInteger connects = new AtomicInteger();
            int[] len = new int[1];
            Pointer sa = sockaddr(at, len);
            NativeIOException e = assertThrows(NativeIOException.class,
                    () -> SocketCalls.connectBlocking(interruptedOnce(connects), fd, sa, len[0], "connect(127.0.0.1:" + at.getPort()));
            assertEquals("connect(127.0.0.1:" + at.getPort() + ", fd=" + fd + "): ECONNREFUSED (Connection refused)",
                    e.getMessage());
            assertEquals(1, connects.get(), "connect(2) was called again after EINTR");
        }
    }
}
