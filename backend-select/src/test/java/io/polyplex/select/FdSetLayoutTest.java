package io.polyplex.select;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fd_set bit layout, against what FD_SET does in C, and the bounds that keep writes inside a set. */
@Timeout(30)
class FdSetLayoutTest {

    private static final FdSetLayout LINUX_64 = new FdSetLayout(1024, 8, true);
    private static final FdSetLayout MACOS = new FdSetLayout(1024, 4, true);

    @Test
    void fdNIsBitNMod8OfByteNDiv8OnLittleEndianWhateverTheWordWidth() {
        for (FdSetLayout layout : new FdSetLayout[] {LINUX_64, MACOS}) {
            byte[] set = new byte[layout.bytes()];
            layout.set(set, 9); // FD_SET(9) in C sets byte 1 to 0x02 (checked on Linux x86_64)
            byte[] expected = new byte[128];
            expected[1] = 0x02;
            assertArrayEquals(expected, set);
            assertTrue(layout.isSet(set, 9));
            assertFalse(layout.isSet(set, 8));
            assertFalse(layout.isSet(set, 10));
            for (int fd = 0; fd < 1024; fd++) {
                assertEquals(fd >> 3, layout.byteOffset(fd), "fd " + fd);
            }
        }
    }

    @Test
    void bigEndianWordsPutLowFdsInTheLastByteOfTheirWord() {
        FdSetLayout be64 = new FdSetLayout(1024, 8, false);
        FdSetLayout be32 = new FdSetLayout(1024, 4, false);
        assertEquals(7, be64.byteOffset(0));
        assertEquals(6, be64.byteOffset(9));
        assertEquals(15, be64.byteOffset(64));
        assertEquals(3, be32.byteOffset(0));
        assertEquals(2, be32.byteOffset(9));
        assertEquals(7, be32.byteOffset(32));
        assertEquals(127 - 7, be64.byteOffset(1023)); // last word, first byte
    }

    @Test
    void aFullSetFillsExactlyFdSetSizeBitsAndNothingBeyond() {
        for (FdSetLayout layout : new FdSetLayout[] {LINUX_64, MACOS, new FdSetLayout(1024, 8, false)}) {
            assertEquals(128, layout.bytes());
            byte[] set = new byte[layout.bytes() + 16]; // 16 guard bytes after the set
            for (int fd = 0; fd < 1024; fd++) {
                layout.set(set, fd);
            }
            for (int i = 0; i < 128; i++) {
                assertEquals((byte) 0xff, set[i], "byte " + i);
            }
            for (int i = 128; i < set.length; i++) {
                assertEquals(0, set[i], "written past FD_SETSIZE / 8 bytes, at byte " + i);
            }
            assertThrows(IndexOutOfBoundsException.class, () -> layout.set(set, 1024));
            assertThrows(IndexOutOfBoundsException.class, () -> layout.set(set, 1_000_000));
            assertThrows(IndexOutOfBoundsException.class, () -> layout.set(set, -1));
            assertThrows(IndexOutOfBoundsException.class, () -> layout.isSet(set, 1024));
        }
    }

    @Test
    void aWaitCopiesWholeWordsButNeverMoreThanTheSet() {
        assertEquals(8, LINUX_64.bytesFor(1));
        assertEquals(8, LINUX_64.bytesFor(64));
        assertEquals(16, LINUX_64.bytesFor(65));
        assertEquals(128, LINUX_64.bytesFor(1024));
        assertEquals(128, LINUX_64.bytesFor(5000));
    }

    @Test
    void thisPlatformsLayoutIsTheDocumentedOne() {
        FdSetLayout p = FdSetLayout.platform();
        assertEquals(1024, p.setSize);
        assertTrue(p.wordBytes == 4 || p.wordBytes == 8);
        if (jnr.ffi.Platform.getNativePlatform().getOS() == jnr.ffi.Platform.OS.LINUX) {
            assertEquals(jnr.ffi.Runtime.getSystemRuntime().longSize(), p.wordBytes);
        }
    }
}
