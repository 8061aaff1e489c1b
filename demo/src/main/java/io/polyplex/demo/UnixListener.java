package io.polyplex.demo;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import jnr.constants.platform.Errno;
import jnr.ffi.LastError;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;

/**
 * A listening AF_UNIX stream socket at a path, from jnr-unixsocket: its channel is a jnr-enxio
 * {@code NativeServerSocketChannel}, so an event queue watches it and {@code NativeSockets.accept}
 * accepts from it like from a TCP listener.
 *
 * <p>The path's file belongs to whoever bound it, and this class is careful with what it finds
 * there:
 * <ul>
 *   <li>nothing: bind;
 *   <li>a socket nobody listens on (connect is refused: a server that died without removing it):
 *       remove it and bind, as most servers do;
 *   <li>a socket somebody listens on: refuse, naming the path;
 *   <li>anything else (a regular file, a directory, a link, a FIFO): refuse and leave it untouched.
 * </ul>
 * {@link #removeFile()} deletes the file only if it is still the one this listener created (same
 * device and inode), so a server started at the same path meanwhile keeps its socket.
 */
final class UnixListener {

    /** S_IFMT and S_IFSOCK from sys/stat.h: the same values on Linux, macOS and the BSDs. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Path path;
    private final UnixServerSocketChannel channel;
    private final Object fileKey;

    private UnixListener(Path path, UnixServerSocketChannel channel, Object fileKey) {
        this.path = path;
        this.channel = channel;
        this.fileKey = fileKey;
    }

    /**
     * Binds and listens at {@code path}, non-blocking.
     *
     * @throws IOException naming the path: it exists and is not a socket, another server listens
     *     there, or bind/listen failed (no such directory, permission denied, path too long, ...)
     */
    static UnixListener open(Path path, int backlog) throws IOException {
        Objects.requireNonNull(path, "path");
        checkLength(path, System.getProperty("os.name", ""));
        clearStaleSocket(path);
        UnixServerSocketChannel ch = UnixServerSocketChannel.open();
        try {
            ch.socket().bind(new UnixSocketAddress(path.toFile()), backlog);
        } catch (IOException e) {
            // Read errno before anything else makes a native call on this thread.
            String why = withErrnoName(e.getMessage(), LastError.getLastError(jnr.ffi.Runtime.getSystemRuntime()));
            close(ch);
            throw new IOException("bind(" + path + "): " + why, e);
        } catch (RuntimeException e) {
            close(ch);
            throw e;
        }
        try {
            ch.configureBlocking(false);
            Object key = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            return new UnixListener(path, ch, key);
        } catch (IOException | RuntimeException e) {
            close(ch);
            Files.deleteIfExists(path);
            throw e;
        }
    }

    /**
     * The size of {@code sockaddr_un}'s {@code sun_path}, which holds the path and its terminating
     * NUL: 108 bytes on Linux ({@code UNIX_PATH_MAX}, include/uapi/linux/un.h), 104 on macOS (XNU
     * bsd/sys/un.h) and the BSDs (FreeBSD, OpenBSD, NetBSD and DragonFly sys/sys/un.h).
     */
    static int sunPathSize(String osName) {
        return osName.toLowerCase(java.util.Locale.ROOT).startsWith("linux") ? 108 : 104;
    }

    /**
     * Refuses a path too long for an AF_UNIX address, naming the limit: bind(2) would otherwise say
     * only EINVAL (Linux) or ENAMETOOLONG. A relative path counts as given.
     */
    static void checkLength(Path path, String osName) throws IOException {
        int bytes = path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        int max = sunPathSize(osName) - 1;
        if (bytes > max) {
            throw new IOException(path + " is " + bytes + " bytes long; an AF_UNIX socket path holds at most " + max
                    + " bytes on " + osName + " (sockaddr_un's sun_path is " + (max + 1)
                    + " bytes with the terminating NUL): pick a shorter path, or a relative one");
        }
    }

    /**
     * jnr-unixsocket's message (strerror's text) with the errno's name in front, as Polyplex's own
     * errors say it: {@code ENOENT (No such file or directory)}. The name is given only when {@code
     * errno}'s text is the message, so a stale errno is never named.
     */
    static String withErrnoName(String message, int errno) {
        Errno e = Errno.valueOf(errno);
        if (message != null && e != null && e != Errno.__UNKNOWN_CONSTANT__ && message.equals(e.description())) {
            return e.name() + " (" + message + ")";
        }
        return message;
    }

    /** Removes a socket file nobody listens on; refuses anything else that is in the way. */
    private static void clearStaleSocket(Path path) throws IOException {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return; // nothing in the way
        } catch (UnsupportedOperationException e) {
            throw new IOException(path + " exists and this JDK cannot tell whether it is a socket; not replacing it");
        }
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket; not replacing it (remove it or pick another path)");
        }
        // Is anybody there? Non-blocking, so a live server with a full backlog cannot hang us: the
        // attempt is then pending, which says as much as a connection does.
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.configureBlocking(false);
            probe.connect(UnixDomainSocketAddress.of(path));
        } catch (ConnectException refused) {
            // ECONNREFUSED: a socket file left behind by a server that is gone. Replace it.
            Files.deleteIfExists(path);
            return;
        }
        throw new IOException("another server is listening on " + path);
    }

    UnixServerSocketChannel channel() {
        return channel;
    }

    Path path() {
        return path;
    }

    /**
     * Deletes the socket file if it is still the one bound here; never throws. Call once the
     * listener is closed (or about to be): new clients then get ENOENT instead of waiting.
     */
    void removeFile() {
        try {
            Object now = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (fileKey == null || fileKey.equals(now)) { // null: a file system without inodes
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // gone already, or no longer ours to judge: leave it
        }
    }

    private static void close(UnixServerSocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
