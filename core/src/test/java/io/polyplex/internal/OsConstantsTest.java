package io.polyplex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jnr.constants.Constant;
import jnr.ffi.Platform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every per-OS number the project writes into a system call, checked on Linux for every OS it
 * names: {@link OsConstants}' own table against jnr-constants' per-platform tables (where they carry
 * the constant) and against the C headers, and the jnr-constants values the project takes at run time
 * (errno, O_*, F_*, SOL_SOCKET, SO_*, AF_*, SOCK_STREAM, SHUT_WR) against the headers too. So every
 * number has two independent sources, and a wrong one fails here rather than on a machine we
 * cannot run.
 *
 * <p>"Headers" below are the values in {@code ../shared/reference/kernel-facts.md} and in these
 * sources: Linux {@code include/uapi/asm-generic/errno*.h}, {@code asm-generic/socket.h}, {@code
 * linux/socket.h}, {@code bits/fcntl-linux.h}, {@code asm-generic/poll.h}; macOS xnu-11417 {@code
 * bsd/sys/errno.h}, {@code socket.h}, {@code fcntl.h}, {@code _types/_fd_def.h}, {@code
 * _types/_timeval.h}; FreeBSD {@code sys/sys/errno.h}, {@code socket.h}, {@code fcntl.h}, {@code
 * select.h}, {@code _timeval.h}; OpenBSD {@code sys/sys/errno.h}, {@code socket.h}, {@code fcntl.h},
 * {@code select.h}; DragonFly {@code sys/sys/errno.h}, {@code socket.h}, {@code fcntl.h}, {@code
 * select.h}.
 */
class OsConstantsTest {

    /** The systems the project names, with jnr-constants' package for each. */
    enum Os {
        LINUX("linux", OsConstants.LINUX, Platform.OS.LINUX),
        DARWIN("darwin", OsConstants.DARWIN, Platform.OS.DARWIN),
        FREEBSD("freebsd", OsConstants.FREEBSD, Platform.OS.FREEBSD),
        OPENBSD("openbsd", OsConstants.OPENBSD, Platform.OS.OPENBSD),
        DRAGONFLY("dragonflybsd", OsConstants.DRAGONFLY, Platform.OS.DRAGONFLY);

        final String jnrPackage;
        final OsConstants table;
        final Platform.OS platform;

        Os(String jnrPackage, OsConstants table, Platform.OS platform) {
            this.jnrPackage = jnrPackage;
            this.table = table;
            this.platform = platform;
        }

        boolean bsd() {
            return this != LINUX;
        }

        /** The value in jnr-constants' table for this OS, or null if that table lacks it. */
        Integer jnr(String type, String name) {
            try {
                Class<?> c = Class.forName("jnr.constants.platform." + jnrPackage + "." + type);
                for (Object e : c.getEnumConstants()) {
                    if (((Enum<?>) e).name().equals(name)) {
                        Constant k = (Constant) e;
                        return k.defined() ? k.intValue() : null;
                    }
                }
                return null;
            } catch (ClassNotFoundException e) {
                throw new AssertionError("jnr-constants has no " + type + " table for " + jnrPackage, e);
            }
        }

        /** One value per OS, in the order LINUX, DARWIN, FREEBSD, OPENBSD, DRAGONFLY. */
        int pick(int linux, int darwin, int freebsd, int openbsd, int dragonfly) {
            return new int[] {linux, darwin, freebsd, openbsd, dragonfly}[ordinal()];
        }
    }

    private static final int NONE = Integer.MIN_VALUE;

    /** Collects every disagreement so one run names them all. */
    private static final class Mismatches {
        final List<String> found = new ArrayList<>();
        final Os os;

        Mismatches(Os os) {
            this.os = os;
        }

        void expect(String what, int headers, Integer actual) {
            Integer want = headers == NONE ? null : headers;
            if (!java.util.Objects.equals(want, actual)) {
                found.add(os + " " + what + ": headers say " + hex(want) + ", got " + hex(actual));
            }
        }

        void done() {
            assertEquals(List.of(), found);
        }

        private static String hex(Integer v) {
            return v == null ? "(none)" : "0x" + Integer.toHexString(v);
        }
    }

    @ParameterizedTest
    @EnumSource(Os.class)
    void ownTableAgreesWithJnrConstantsWhereItCarriesTheConstant(Os os) {
        Mismatches m = new Mismatches(os);
        OsConstants t = os.table;
        m.expect("MSG_PEEK (jnr-constants)", t.msgPeek(), os.jnr("SocketMessage", "MSG_PEEK"));
        m.expect("MSG_DONTWAIT (jnr-constants)", t.msgDontwait(), os.jnr("SocketMessage", "MSG_DONTWAIT"));
        if (t.msgNosignal() != 0) {
            m.expect("MSG_NOSIGNAL (jnr-constants)", t.msgNosignal(), os.jnr("SocketMessage", "MSG_NOSIGNAL"));
        } else {
            // No MSG_NOSIGNAL used: then SO_NOSIGPIPE must exist, or a send could raise SIGPIPE.
            m.expect("SO_NOSIGPIPE defined (jnr-constants), as no MSG_NOSIGNAL is used", 1,
                    os.jnr("SocketOption", "SO_NOSIGPIPE") != null ? 1 : 0);
        }
        Integer nonblock = os.jnr("Sock", "SOCK_NONBLOCK");
        if (nonblock != null) { // jnr-constants carries SOCK_* flags for Linux and DragonFly only
            m.expect("SOCK_NONBLOCK (jnr-constants)", t.sockNonblock(), nonblock);
            m.expect("SOCK_CLOEXEC (jnr-constants)", t.sockCloexec(), os.jnr("Sock", "SOCK_CLOEXEC"));
        }
        m.done();
    }

    @ParameterizedTest
    @EnumSource(Os.class)
    void ownTableAgreesWithTheHeaders(Os os) {
        Mismatches m = new Mismatches(os);
        OsConstants t = os.table;
        m.expect("MSG_PEEK", 0x2, t.msgPeek());
        m.expect("MSG_DONTWAIT", os.pick(0x40, 0x80, 0x80, 0x80, 0x80), t.msgDontwait());
        // macOS has MSG_NOSIGNAL (0x80000) only from macOS 11 and write(2) ignores it: 0 = SO_NOSIGPIPE.
        m.expect("MSG_NOSIGNAL", os.pick(0x4000, 0, 0x20000, 0x400, 0x400), t.msgNosignal());
        m.expect("SOCK_NONBLOCK", os.pick(0x800, 0, 0x20000000, 0x4000, 0x20000000), t.sockNonblock());
        m.expect("SOCK_CLOEXEC", os.pick(0x80000, 0, 0x10000000, 0x8000, 0x10000000), t.sockCloexec());
        m.expect("accept4 exists", os.pick(1, 0, 1, 1, 1), t.hasAccept4() ? 1 : 0);
        m.expect("pipe2 exists", os.pick(1, 0, 1, 1, 1), t.hasPipe2() ? 1 : 0);
        m.expect("sockaddr starts with sin_len", os.bsd() ? 1 : 0, t.sockaddrHasLength() ? 1 : 0);
        // POLLRDHUP: Linux only (FreeBSD's 0x4000 exists in 15-CURRENT only, and is not used).
        m.expect("POLLRDHUP used", os.pick(0x2000, 0, 0, 0, 0), t.pollRdhup());
        // fd_mask: long on Linux, FreeBSD and DragonFly; 32-bit on macOS and OpenBSD.
        m.expect("fd_mask bytes", os.pick(8, 4, 8, 4, 8), t.fdMaskBytes());
        // struct timeval on LP64: time_t is 64-bit everywhere; suseconds_t is 32-bit on macOS only.
        m.expect("timeval tv_sec bytes", 8, t.timevalSecondsBytes());
        m.expect("timeval tv_usec bytes", os.pick(8, 4, 8, 8, 8), t.timevalMicrosBytes());
        m.done();
    }

    @ParameterizedTest
    @EnumSource(Os.class)
    void jnrConstantsTheProjectUsesAgreeWithTheHeaders(Os os) {
        Mismatches m = new Mismatches(os);
        boolean bsd = os.bsd();
        Map<String, Integer> sameEverywhere = Map.of("EPERM", 1, "ENOENT", 2, "EINTR", 4, "EBADF", 9,
                "ENOMEM", 12, "EEXIST", 17, "EINVAL", 22, "ENFILE", 23, "EMFILE", 24, "EPIPE", 32);
        sameEverywhere.forEach((name, v) -> m.expect(name, v, os.jnr("Errno", name)));
        m.expect("EAGAIN", bsd ? 35 : 11, os.jnr("Errno", "EAGAIN"));
        m.expect("EWOULDBLOCK", bsd ? 35 : 11, os.jnr("Errno", "EWOULDBLOCK"));
        m.expect("EINPROGRESS", bsd ? 36 : 115, os.jnr("Errno", "EINPROGRESS"));
        m.expect("EALREADY", bsd ? 37 : 114, os.jnr("Errno", "EALREADY"));
        m.expect("ENOTSOCK", bsd ? 38 : 88, os.jnr("Errno", "ENOTSOCK"));
        m.expect("ECONNABORTED", bsd ? 53 : 103, os.jnr("Errno", "ECONNABORTED"));
        m.expect("ECONNRESET", bsd ? 54 : 104, os.jnr("Errno", "ECONNRESET"));
        m.expect("EISCONN", bsd ? 56 : 106, os.jnr("Errno", "EISCONN"));
        m.expect("ECONNREFUSED", bsd ? 61 : 111, os.jnr("Errno", "ECONNREFUSED"));

        m.expect("O_RDONLY", 0, os.jnr("OpenFlags", "O_RDONLY"));
        m.expect("O_NONBLOCK", bsd ? 0x4 : 0x800, os.jnr("OpenFlags", "O_NONBLOCK"));
        m.expect("O_CLOEXEC", os.pick(0x80000, 0x1000000, 0x100000, 0x10000, 0x20000), os.jnr("OpenFlags", "O_CLOEXEC"));
        m.expect("F_GETFD", 1, os.jnr("Fcntl", "F_GETFD"));
        m.expect("F_SETFD", 2, os.jnr("Fcntl", "F_SETFD"));
        m.expect("F_GETFL", 3, os.jnr("Fcntl", "F_GETFL"));
        m.expect("F_SETFL", 4, os.jnr("Fcntl", "F_SETFL"));

        m.expect("SOL_SOCKET", bsd ? 0xffff : 1, os.jnr("SocketLevel", "SOL_SOCKET"));
        m.expect("SO_REUSEADDR", bsd ? 0x4 : 2, os.jnr("SocketOption", "SO_REUSEADDR"));
        m.expect("SO_ERROR", bsd ? 0x1007 : 4, os.jnr("SocketOption", "SO_ERROR"));
        m.expect("SO_SNDBUF", bsd ? 0x1001 : 7, os.jnr("SocketOption", "SO_SNDBUF"));
        m.expect("SO_RCVBUF", bsd ? 0x1002 : 8, os.jnr("SocketOption", "SO_RCVBUF"));
        // macOS: 0x80 takes l_linger in ticks (0x1080 in seconds); {on, 0} aborts either way.
        m.expect("SO_LINGER", bsd ? 0x80 : 13, os.jnr("SocketOption", "SO_LINGER"));
        m.expect("SO_NOSIGPIPE", os.pick(NONE, 0x1022, 0x800, NONE, 0x800), os.jnr("SocketOption", "SO_NOSIGPIPE"));

        m.expect("AF_UNIX", 1, os.jnr("AddressFamily", "AF_UNIX"));
        m.expect("AF_INET", 2, os.jnr("AddressFamily", "AF_INET"));
        m.expect("AF_INET6", os.pick(10, 30, 28, 24, 28), os.jnr("AddressFamily", "AF_INET6"));
        m.expect("SOCK_STREAM", 1, os.jnr("Sock", "SOCK_STREAM"));
        m.expect("SHUT_WR", 1, os.jnr("Shutdown", "SHUT_WR"));
        m.done();
    }

    /** On whatever OS this runs (the workflow runs it on macOS and FreeBSD too): the right table. */
    @Test
    void theRunningOsGetsItsOwnTable() {
        Platform.OS here = Platform.getNativePlatform().getOS();
        for (Os os : Os.values()) {
            if (os.platform == here) {
                assertSame(os.table, OsConstants.CURRENT, "table for " + here);
                Integer nosignal = os.jnr("SocketMessage", "MSG_NOSIGNAL");
                jnr.constants.platform.SocketMessage running = jnr.constants.platform.SocketMessage.MSG_NOSIGNAL;
                assertEquals(nosignal != null, running.defined(), "jnr-constants picked another OS's table");
                return;
            }
        }
        // Another POSIX system: only what needs no per-OS flag.
        assertEquals(0, OsConstants.CURRENT.sockNonblock());
        assertFalse(OsConstants.CURRENT.hasAccept4());
    }
}
