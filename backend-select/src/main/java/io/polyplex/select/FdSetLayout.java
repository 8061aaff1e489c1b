package io.polyplex.select;

import io.polyplex.internal.OsConstants;
import java.nio.ByteOrder;
import jnr.ffi.Runtime;

/**
 * Where fd N's bit lives in a {@code fd_set}: FD_SETSIZE bits in words of the platform's
 * {@code fd_mask} width (Linux glibc, FreeBSD, Solaris: {@code long}; macOS, OpenBSD, NetBSD: 32-bit
 * {@code int}), bit {@code N % wordBits} of word {@code N / wordBits}, each word in native byte
 * order. On little-endian machines every layout is the same bytes (bit {@code N & 7} of byte
 * {@code N >> 3}); on big-endian ones the word width matters, which is why it is described here and
 * not assumed.
 *
 * <p>The backend builds its sets in Java byte arrays of exactly {@link #bytes()} bytes and copies
 * them into native memory of the same size; every access checks the fd against {@link #setSize}, so
 * nothing is ever written outside a set (glibc's own FD_SET only checks that under
 * {@code _FORTIFY_SOURCE}; from Java nothing else would).
 */
final class FdSetLayout {

    /** FD_SETSIZE of Linux glibc, macOS, FreeBSD, OpenBSD and NetBSD (and 32-bit Solaris). */
    static final int FD_SETSIZE = 1024;

    /** Bits in the set: fds {@code 0 .. setSize - 1} fit. A multiple of 64. */
    final int setSize;
    /** Bytes in one {@code fd_mask} word: 4 or 8. */
    final int wordBytes;
    final boolean littleEndian;

    FdSetLayout(int setSize, int wordBytes, boolean littleEndian) {
        if (setSize <= 0 || setSize % 64 != 0 || (wordBytes != 4 && wordBytes != 8)) {
            throw new IllegalArgumentException("setSize " + setSize + ", wordBytes " + wordBytes);
        }
        this.setSize = setSize;
        this.wordBytes = wordBytes;
        this.littleEndian = littleEndian;
    }

    /**
     * This platform's layout. Solaris's 64-bit FD_SETSIZE is larger (65536); using 1024 there is
     * merely conservative, since the kernel reads only the words that {@code nfds} covers.
     */
    static FdSetLayout platform() {
        // fd_mask is a long or a 32-bit int: 4 bytes on every 32-bit system, per OS on 64-bit ones.
        // (The native runtime's sizeof(long), in bytes.)
        int word = Runtime.getSystemRuntime().longSize() == 8 ? OsConstants.CURRENT.fdMaskBytes() : 4;
        return new FdSetLayout(FD_SETSIZE, word, ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN);
    }

    /** Size of one whole set in bytes. */
    int bytes() {
        return setSize / 8;
    }

    /**
     * Bytes of a set that a select with {@code nfds} reads and writes: whole 64-bit words, which
     * cover whole 32-bit ones too, and never more than the set.
     */
    int bytesFor(int nfds) {
        return Math.min(bytes(), (nfds + 63) / 64 * 8);
    }

    /** Byte offset of fd's bit. */
    int byteOffset(int fd) {
        check(fd);
        if (littleEndian) {
            return fd >>> 3; // byte N / 8 of the set, whatever the word width (see above)
        }
        // Shifts, not divisions: a select result is scanned with this for every watched fd.
        int wordShift = wordBytes == 8 ? 6 : 5;
        int word = fd >>> wordShift;
        int bit = fd & ((1 << wordShift) - 1);
        return word * wordBytes + wordBytes - 1 - (bit >>> 3);
    }

    /** Mask of fd's bit within its byte. */
    static int bitMask(int fd) {
        return 1 << (fd & 7);
    }

    /** FD_SET on a set held in {@code set}. */
    void set(byte[] set, int fd) {
        int at = byteOffset(fd);
        set[at] = (byte) (set[at] | bitMask(fd));
    }

    /** FD_ISSET on a set held in {@code set}. */
    boolean isSet(byte[] set, int fd) {
        return (set[byteOffset(fd)] & bitMask(fd)) != 0;
    }

    private void check(int fd) {
        if (fd < 0 || fd >= setSize) {
            throw new IndexOutOfBoundsException("fd " + fd + " is outside an fd_set of " + setSize);
        }
    }
}
