package io.polyplex.conformance;

import io.polyplex.net.NativeSockets;
import java.io.IOException;
import jnr.constants.platform.Fcntl;
import jnr.enxio.channels.NativeSocketChannel;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * Socket pairs whose first end sits on a high fd number, for tests that close a socket and then
 * name its number again, expecting EBADF or reusing it on purpose. The kernel hands out the lowest
 * free number, so no other thread of the JVM (the JIT opening a class file, say) takes a high one in
 * the gap, as it can take a low one and turn the expected EBADF into another file's EPERM. The
 * number stays below 1024 so that select can hold it.
 */
public final class HighFd {

    private static final int HIGHEST = 1000;

    private HighFd() {}

    /** A connected AF_UNIX pair, [0] moved to the highest free number at or below 1000. */
    public static NativeSocketChannel[] socketPair() throws IOException {
        POSIX posix = POSIXFactory.getNativePOSIX();
        int fd = HIGHEST;
        while (fd > 0 && posix.fcntl(fd, Fcntl.F_GETFD) >= 0) {
            fd--;
        }
        NativeSocketChannel[] p = NativeSockets.socketPair();
        if (posix.dup2(p[0].getFD(), fd) != fd) {
            int errno = posix.errno();
            p[0].close();
            p[1].close();
            throw new IOException("dup2(fd=" + p[0].getFD() + ", " + fd + "): errno " + errno);
        }
        posix.fcntlInt(fd, Fcntl.F_SETFD, 1); // FD_CLOEXEC, which dup2 does not carry over
        p[0].close();
        return new NativeSocketChannel[] {new NativeSocketChannel(fd), p[1]};
    }
}
