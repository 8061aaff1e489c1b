package io.polyplex.internal;

import jnr.ffi.Platform;

/**
 * The numbers Polyplex writes into system calls that differ by OS and that it takes from the C
 * headers itself, because jnr-constants does not carry them for every system (it has no
 * SOCK_NONBLOCK for FreeBSD or OpenBSD, no MSG_NOSIGNAL for macOS, nothing on {@code fd_set} or
 * {@code sockaddr}). Everything else per OS (errno, O_*, F_*, SOL_SOCKET and SO_*, AF_*) comes from
 * jnr-constants at run time. {@code OsConstantsTest} checks every value here against jnr-constants'
 * per-platform tables where those carry it, and against the headers' values (kernel-facts.md and the
 * sources named below) for every OS, on Linux; it also checks jnr-constants' own values that the
 * project uses, so each number has two sources that agree.
 *
 * <p>Sources (paraphrased, not copied): Linux {@code include/uapi/linux/socket.h}, {@code
 * asm-generic/socket.h}, {@code bits/socket_type.h}, {@code asm-generic/poll.h}; macOS xnu {@code
 * bsd/sys/socket.h}, {@code bsd/sys/_types/_fd_def.h}; FreeBSD {@code sys/sys/socket.h}, {@code
 * sys/sys/select.h}, {@code sys/sys/poll.h}; OpenBSD {@code sys/sys/socket.h}, {@code
 * sys/sys/select.h}; DragonFly {@code sys/sys/socket.h} (SOCK_NONBLOCK, SOCK_CLOEXEC, accept4 since
 * 4.4, pipe2 since 4.2). Sizes are those of 64-bit systems; code for 32-bit ones does not use them.
 *
 * @param name the system, for messages
 * @param msgPeek MSG_PEEK
 * @param msgDontwait MSG_DONTWAIT
 * @param msgNosignal MSG_NOSIGNAL, or 0 where a send must rely on SO_NOSIGPIPE instead (macOS:
 *     MSG_NOSIGNAL only exists from macOS 11, and write(2) ignores it; SO_NOSIGPIPE covers both)
 * @param sockNonblock SOCK_NONBLOCK for socket(2), socketpair(2) and accept4(2), or 0 if none
 * @param sockCloexec SOCK_CLOEXEC likewise, or 0 if none (then fcntl(2) sets both flags)
 * @param hasAccept4 whether accept4(2) exists
 * @param hasPipe2 whether pipe2(2) exists
 * @param sockaddrHasLength whether {@code struct sockaddr} starts with a length byte and a one-byte
 *     family (4.4BSD and its descendants) rather than a 16-bit family (Linux)
 * @param pollRdhup POLLRDHUP, or 0 where poll(2) has no peer-closed flag
 * @param fdMaskBytes bytes in one {@code fd_mask} word of an {@code fd_set}
 * @param timevalSecondsBytes bytes of {@code time_t tv_sec} in {@code struct timeval}
 * @param timevalMicrosBytes bytes of {@code suseconds_t tv_usec} (8-byte aligned after tv_sec)
 */
public record OsConstants(String name, int msgPeek, int msgDontwait, int msgNosignal, int sockNonblock,
                          int sockCloexec, boolean hasAccept4, boolean hasPipe2, boolean sockaddrHasLength,
                          int pollRdhup, int fdMaskBytes, int timevalSecondsBytes, int timevalMicrosBytes) {

    /** Linux (glibc, x86-64 and arm64). */
    public static final OsConstants LINUX =
            new OsConstants("Linux", 0x2, 0x40, 0x4000, 0x800, 0x80000, true, true, false, 0x2000, 8, 8, 8);
    /** macOS (xnu): no SOCK_* flags, accept4 or pipe2; 32-bit fd_mask and suseconds_t. */
    public static final OsConstants DARWIN =
            new OsConstants("macOS", 0x2, 0x80, 0, 0, 0, false, false, true, 0, 4, 8, 4);
    /** FreeBSD 12 and newer (accept4 and pipe2 since 10). POLLRDHUP exists only in 15-CURRENT. */
    public static final OsConstants FREEBSD =
            new OsConstants("FreeBSD", 0x2, 0x80, 0x20000, 0x20000000, 0x10000000, true, true, true, 0, 8, 8, 8);
    /** OpenBSD: MSG_NOSIGNAL is 0x400; 32-bit fd_mask; time_t always 64-bit. */
    public static final OsConstants OPENBSD =
            new OsConstants("OpenBSD", 0x2, 0x80, 0x400, 0x4000, 0x8000, true, true, true, 0, 4, 8, 8);
    /** DragonFly BSD 4.4 and newer. */
    public static final OsConstants DRAGONFLY =
            new OsConstants("DragonFly", 0x2, 0x80, 0x400, 0x20000000, 0x10000000, true, true, true, 0, 8, 8, 8);
    /**
     * Any other POSIX system (NetBSD, Solaris, AIX): not verified here, so only what needs no
     * per-OS flag: plain socket(2) and accept(2) followed by fcntl(2), no MSG_NOSIGNAL (SO_NOSIGPIPE
     * where jnr-constants defines it). Solaris has no sockaddr length byte.
     */
    static OsConstants other(Platform.OS os) {
        boolean netbsd = os == Platform.OS.NETBSD;
        return new OsConstants(os.toString(), 0x2, 0x80, 0, 0, 0, false, false, os != Platform.OS.SOLARIS, 0,
                netbsd ? 4 : 8, 8, netbsd ? 4 : 8);
    }

    /**
     * The table for {@code os}.
     *
     * @param os a system as jnr-ffi names it
     * @return one of the tables above, or for any other system the conservative one described at
     *     {@code other}
     */
    public static OsConstants forOs(Platform.OS os) {
        return switch (os) {
            case LINUX -> LINUX;
            case DARWIN -> DARWIN;
            case FREEBSD -> FREEBSD;
            case OPENBSD -> OPENBSD;
            case DRAGONFLY -> DRAGONFLY;
            default -> other(os);
        };
    }

    /** The table for the running OS. */
    public static final OsConstants CURRENT = forOs(Platform.getNativePlatform().getOS());
}
