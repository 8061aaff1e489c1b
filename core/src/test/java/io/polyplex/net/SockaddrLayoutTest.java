package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.polyplex.internal.OsConstants;
import java.net.Inet6Address;
import java.net.InetAddress;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.Test;

/**
 * The socket addresses written for each OS, byte for byte, against the header layouts: 4.4BSD
 * descendants (macOS xnu {@code bsd/netinet/in.h} and {@code netinet6/in6.h}, FreeBSD, OpenBSD,
 * DragonFly) start {@code sockaddr_in} with {@code uint8_t sin_len, sin_family}; Linux ({@code
 * linux/in.h}, {@code linux/in6.h}) with a 16-bit family in host order. Both: port in network order
 * at 2; IPv4 address at 4 (16 bytes in all); IPv6 flow info at 4, address at 8, scope id at 24 (28
 * bytes). The families are each OS's own AF_INET (2) and AF_INET6 (Linux 10, macOS 30, FreeBSD and
 * DragonFly 28, OpenBSD 24).
 */
class SockaddrLayoutTest {

    private static byte[] encode(InetAddress ip, int port, boolean hasLength, int family) {
        Pointer sa = Memory.allocateDirect(Runtime.getSystemRuntime(), 64, true);
        sa.setMemory(0, 64, (byte) 0x55); // garbage that must not survive
        int len = SocketCalls.encode(ip, port, sa, hasLength, family);
        byte[] out = new byte[len];
        sa.get(0, out, 0, len);
        return out;
    }

    @Test
    void ipv4OnTheBsdsAndMacos() throws Exception {
        InetAddress ip = InetAddress.getByName("127.0.0.1");
        for (OsConstants os : new OsConstants[] {OsConstants.DARWIN, OsConstants.FREEBSD, OsConstants.OPENBSD,
                OsConstants.DRAGONFLY}) {
            assertArrayEquals(new byte[] {16, 2, 0x1f, (byte) 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
                    encode(ip, 8080, os.sockaddrHasLength(), 2), os.name());
        }
    }

    @Test
    void ipv4OnLinux() throws Exception {
        byte[] sa = encode(InetAddress.getByName("10.1.2.3"), 443, OsConstants.LINUX.sockaddrHasLength(), 2);
        byte[] familyHostOrder = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN
                ? new byte[] {2, 0} : new byte[] {0, 2};
        assertArrayEquals(new byte[] {familyHostOrder[0], familyHostOrder[1], 0x01, (byte) 0xbb, 10, 1, 2, 3,
                0, 0, 0, 0, 0, 0, 0, 0}, sa);
    }

    @Test
    void ipv6WithScopeOnEachOs() throws Exception {
        Inet6Address ip = Inet6Address.getByAddress(null,
                InetAddress.getByName("fe80::1:2").getAddress(), 7);
        int[][] cases = { // hasLength, AF_INET6
            {1, 30}, // macOS
            {1, 28}, // FreeBSD, DragonFly
            {1, 24}, // OpenBSD
        };
        for (int[] c : cases) {
            byte[] sa = encode(ip, 8080, c[0] == 1, c[1]);
            assertEquals(28, sa.length);
            assertEquals(28, sa[0], "sin6_len");
            assertEquals(c[1], sa[1], "sin6_family");
            assertEquals(0x1f, sa[2] & 0xff);
            assertEquals(0x90, sa[3] & 0xff);
            assertArrayEquals(new byte[4], java.util.Arrays.copyOfRange(sa, 4, 8), "sin6_flowinfo");
            assertArrayEquals(ip.getAddress(), java.util.Arrays.copyOfRange(sa, 8, 24), "sin6_addr");
            assertEquals(7, java.nio.ByteBuffer.wrap(sa, 24, 4).order(java.nio.ByteOrder.nativeOrder()).getInt(),
                    "sin6_scope_id");
        }
        byte[] linux = encode(ip, 8080, false, 10);
        assertEquals(10, java.nio.ByteBuffer.wrap(linux, 0, 2).order(java.nio.ByteOrder.nativeOrder()).getShort());
        assertArrayEquals(ip.getAddress(), java.util.Arrays.copyOfRange(linux, 8, 24));
    }
}
