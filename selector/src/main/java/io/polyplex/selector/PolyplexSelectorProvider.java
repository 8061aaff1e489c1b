package io.polyplex.selector;

import io.polyplex.BackendInfo;
import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.AbstractSelector;
import java.nio.channels.spi.SelectorProvider;
import java.util.Objects;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketChannel;

/**
 * A {@link SelectorProvider} whose selectors run on a Polyplex {@link EventQueue}: epoll on Linux,
 * kqueue on macOS and the BSDs (poll or select where named), for the channels of jnr-enxio and
 * jnr-unixsocket. Switching from jnr-enxio's own selector is one line:
 *
 * <pre>{@code
 * Selector selector = PolyplexSelectorProvider.getInstance().openSelector();
 * // was: NativeSelectorProvider.getInstance().openSelector()
 * }</pre>
 *
 * <h2>Which channels</h2>
 * A selector accepts every channel that is both a jnr-enxio {@code NativeSelectableChannel} and an
 * {@link java.nio.channels.spi.AbstractSelectableChannel}: jnr-enxio's {@code NativeSocketChannel}
 * and {@code NativeServerSocketChannel}, jnr-unixsocket's {@code UnixSocketChannel}, {@code
 * UnixServerSocketChannel} and {@code UnixDatagramChannel}, Polyplex's {@code NativeSockets}
 * channels, whatever provider each channel names. Registering any other channel (one of the JDK's
 * own, say) throws {@link java.nio.channels.IllegalSelectorException}, as the JDK's selector does for
 * channels it cannot watch. A channel's file descriptor is read once, when it is registered.
 *
 * <h2>The selector contract</h2>
 * The selectors keep {@link java.nio.channels.Selector}'s contract as the JDK documents it and as
 * its own epoll and poll selectors keep it: level-triggered; the key set (thread-safe, not
 * modifiable), the selected-key set (removal only, not thread-safe, fail-fast iterators) and the
 * cancelled-key set, with cancelled keys deregistered at the start and end of every selection
 * operation; a key not yet selected gets exactly the operations found ready, a key already in the
 * selected-key set gets new ones added to its ready set, and {@code select} returns the number of
 * keys whose ready set changed; the {@code Consumer} forms never touch the selected-key set. A peer
 * that closed or reset, or a pending socket error, makes the key ready for every operation in its
 * interest set, as the JDK reports POLLHUP and POLLERR, so the next read or write sees the end of
 * stream or the error. OP_READ and OP_ACCEPT watch readability, OP_WRITE and OP_CONNECT
 * writability; for a {@link SocketChannel} (jnr-unixsocket's) interested in OP_CONNECT, writability
 * is reported as OP_CONNECT while its connection is pending and as OP_WRITE once it is not, as the
 * JDK does.
 *
 * <p>{@link java.nio.channels.Selector#wakeup()} before, during or after a selection: the selection
 * in progress, or else the next one, returns at once (a {@code selectNow} in between clears it),
 * and any number of wakeups in between cost one. {@code wakeup} after {@code close} does nothing.
 * {@link java.nio.channels.Selector#close()} wakes a selection in progress (which returns normally),
 * deregisters every key and releases the queue's file descriptors; every later call but {@code
 * close}, {@code isOpen}, {@code wakeup} and {@code provider} throws {@link
 * java.nio.channels.ClosedSelectorException}. Interrupting a thread blocked in a selection makes it
 * return at once with its interrupt status set; a thread already interrupted does not block.
 *
 * <h2>Where it differs from the JDK's selector</h2>
 * <ul>
 *   <li><b>Interest changes apply at once.</b> {@link java.nio.channels.SelectionKey#interestOps(int)}
 *       (and {@code interestOpsOr}/{@code interestOpsAnd}, and registration) from any thread reach
 *       the kernel before the call returns, so a selection blocked in another thread sees them
 *       without waiting for its timeout; the JDK queues them for its next selection operation.
 *   <li><b>Kernel refusals.</b> A change the kernel refuses (an fd at or above FD_SETSIZE on the
 *       select backend, a closed fd, ENOMEM) cannot be thrown from {@code interestOps} or {@code
 *       register}, whose signatures allow no I/O error: it is thrown, once, by the next selection
 *       operation, which is where the JDK reports failures of its deferred changes; the key stays
 *       valid, and a later {@code interestOps} tries again.
 *   <li><b>Closing a registered channel.</b> jnr's channels close their fd at once, before the JDK's
 *       channel code cancels their keys (the JDK's own channels defer the close until the selector
 *       has let go of the fd). The selector never reports an event through a key whose channel is
 *       closed: such a key is cancelled and its fd taken out of the kernel set as soon as a
 *       selection sees it, so a later channel on the same fd number is never reported through the
 *       old key, and a poll/select wait does not spin on a reused fd. One case the kernel imposes:
 *       if the fd was duplicated (dup, fork) and the copy is still open, epoll and kqueue go on
 *       watching the file; cancel the key (or close the selector) before closing such a channel.
 *   <li><b>Ready operations of an event the kernel reports for a closed fd</b> (the fd was closed
 *       natively behind the channel's back, POLLNVAL, which poll and select report; epoll and
 *       kqueue forget a closed fd and report nothing): the key is reported ready for its whole
 *       interest set, once, so that its next read or write fails with the error, and its fd leaves
 *       the kernel set; the JDK ignores such an event.
 * </ul>
 *
 * <h2>The other factory methods</h2>
 * A provider must also make channels. Where a jnr channel is one of the JDK's channel types, this
 * provider hands it out; elsewhere it refuses:
 * <ul>
 *   <li>{@link #openSocketChannel(ProtocolFamily)} with {@link StandardProtocolFamily#UNIX}: a new,
 *       unconnected jnr-unixsocket {@code UnixSocketChannel} (a {@link SocketChannel});
 *   <li>{@link #openDatagramChannel(ProtocolFamily)} with {@link StandardProtocolFamily#UNIX}: a new
 *       jnr-unixsocket {@code UnixDatagramChannel} (a {@link DatagramChannel});
 *   <li>every other form, {@link #openSocketChannel()}, {@link #openServerSocketChannel()}, {@link
 *       #openDatagramChannel()} and {@link #openPipe()}: {@link UnsupportedOperationException}. jnr
 *       has no TCP {@code SocketChannel}, {@code ServerSocketChannel} or {@code Pipe}: open TCP and
 *       AF_UNIX listeners and connections with {@code io.polyplex.net.NativeSockets} or
 *       jnr-unixsocket's {@code UnixServerSocketChannel.open()}, which this selector watches.
 * </ul>
 * The channels handed out name jnr-enxio's provider as their {@code provider()}: jnr fixes it in
 * their constructors. That does not matter to registration, which checks the channel's kind, not
 * its provider.
 *
 * <h2>Threads</h2>
 * A provider is immutable and may be shared. Each selector owns one {@link EventQueue} (a kernel
 * object and a wakeup pipe, close-on-exec) from {@link #openSelector()} until it is closed.
 * Do not install this provider as the JVM's default ({@code java.nio.channels.spi.SelectorProvider}
 * system property): the JDK's own channels would then have no provider.
 */
public final class PolyplexSelectorProvider extends SelectorProvider {

    private static final PolyplexSelectorProvider BEST = new PolyplexSelectorProvider(null, null);

    /** The backend's name, or null for {@link EventQueues#open}'s choice (or for {@link #custom}). */
    private final String backend;
    /** A backend the caller supplied ({@link #forBackend(BackendProvider)}), or null. */
    private final BackendProvider custom;

    private PolyplexSelectorProvider(String backend, BackendProvider custom) {
        this.backend = backend;
        this.custom = custom;
    }

    /**
     * The provider whose selectors run on the best backend for this OS, as {@link
     * EventQueues#open(java.util.function.ToIntFunction)} chooses it when each selector is opened
     * (epoll on Linux, kqueue on macOS and the BSDs; the system property {@value
     * EventQueues#BACKEND_PROPERTY} overrides the choice).
     *
     * @return the shared instance
     */
    public static PolyplexSelectorProvider getInstance() {
        return BEST;
    }

    /**
     * A provider whose selectors run on the named backend.
     *
     * @param backend a name {@link EventQueues#backends()} lists: {@code "epoll"}, {@code "kqueue"},
     *     {@code "poll"} or {@code "select"}
     * @return a provider for that backend
     * @throws IllegalArgumentException if no backend of that name is on the class path or module path
     * @throws UnsupportedOperationException if it is there but cannot run on this OS
     */
    public static PolyplexSelectorProvider forBackend(String backend) {
        Objects.requireNonNull(backend, "backend");
        for (BackendInfo b : EventQueues.backends()) {
            if (b.name().equals(backend)) {
                if (!b.supported()) {
                    throw new UnsupportedOperationException("backend \"" + backend + "\" does not run here: "
                            + b.unsupportedReason().orElse("unsupported"));
                }
                return new PolyplexSelectorProvider(backend, null);
            }
        }
        throw new IllegalArgumentException("unknown backend \"" + backend + "\"; on the class path: "
                + EventQueues.backends().stream().map(BackendInfo::name).toList());
    }

    /**
     * A provider whose selectors run on a backend the caller supplies, as {@link
     * EventQueues#open(BackendProvider, java.util.function.ToIntFunction)} opens it: a backend that
     * is not on the class path, or one over a substituted binding in tests. Its {@link
     * BackendProvider#unsupportedReason()} is not consulted: the caller vouches that it runs here.
     *
     * @param backend the backend each selector opens a queue on
     * @return a provider for that backend
     */
    public static PolyplexSelectorProvider forBackend(BackendProvider backend) {
        return new PolyplexSelectorProvider(null, Objects.requireNonNull(backend, "backend"));
    }

    /**
     * Opens a new selector on a new {@link EventQueue}.
     *
     * @return a new open selector; the caller owns it and must close it, as it holds native
     *     resources (file descriptors, native memory) until then
     * @throws IOException if the queue's kernel object or wakeup pipe cannot be created (e.g. EMFILE)
     * @throws UnsupportedOperationException if no Polyplex backend (or not the one named) runs here
     */
    @Override
    public AbstractSelector openSelector() throws IOException {
        EventQueue<PolyplexSelectionKey> queue = custom != null ? EventQueues.open(custom, PolyplexSelectionKey::fd)
                : backend == null ? EventQueues.open(PolyplexSelectionKey::fd)
                : EventQueues.open(backend, PolyplexSelectionKey::fd);
        return new PolyplexSelector(this, queue);
    }

    /**
     * Refused: jnr has no INET datagram channel.
     *
     * @return never
     * @throws UnsupportedOperationException always
     */
    @Override
    public DatagramChannel openDatagramChannel() {
        throw new UnsupportedOperationException("polyplex-selector makes no INET DatagramChannel (jnr has none);"
                + " openDatagramChannel(StandardProtocolFamily.UNIX) gives a jnr-unixsocket UnixDatagramChannel");
    }

    /**
     * A jnr-unixsocket {@code UnixDatagramChannel} for {@link StandardProtocolFamily#UNIX}; refused
     * for any other family.
     *
     * @param family the protocol family
     * @return a new, unbound datagram channel in blocking mode
     * @throws IOException if the socket cannot be created
     * @throws UnsupportedOperationException if {@code family} is not UNIX
     */
    @Override
    public DatagramChannel openDatagramChannel(ProtocolFamily family) throws IOException {
        if (Objects.requireNonNull(family, "family") == StandardProtocolFamily.UNIX) {
            return UnixDatagramChannel.open();
        }
        throw new UnsupportedOperationException("polyplex-selector makes datagram channels for"
                + " StandardProtocolFamily.UNIX only (jnr-unixsocket's), not " + family);
    }

    /**
     * Refused: jnr has no {@link Pipe}. A connected AF_UNIX pair ({@code
     * io.polyplex.net.NativeSockets.socketPair()} or jnr-unixsocket's {@code
     * UnixSocketChannel.pair()}) serves the same purpose and can be registered here.
     *
     * @return never
     * @throws UnsupportedOperationException always
     */
    @Override
    public Pipe openPipe() {
        throw new UnsupportedOperationException("polyplex-selector makes no Pipe (jnr has none); use a socket pair"
                + " (NativeSockets.socketPair() or UnixSocketChannel.pair()), which this selector watches");
    }

    /**
     * Refused: jnr's listening channels are not {@link ServerSocketChannel}s.
     *
     * @return never
     * @throws UnsupportedOperationException always
     */
    @Override
    public ServerSocketChannel openServerSocketChannel() {
        throw new UnsupportedOperationException("polyplex-selector makes no ServerSocketChannel (jnr's listeners"
                + " are not ServerSocketChannels); listen with NativeSockets.listen or UnixServerSocketChannel.open(),"
                + " which this selector watches");
    }

    /**
     * Refused for every family: jnr's listening channels are not {@link ServerSocketChannel}s.
     *
     * @param family the protocol family
     * @return never
     * @throws UnsupportedOperationException always
     */
    @Override
    public ServerSocketChannel openServerSocketChannel(ProtocolFamily family) {
        Objects.requireNonNull(family, "family");
        return openServerSocketChannel();
    }

    /**
     * Refused: jnr has no TCP {@link SocketChannel}.
     *
     * @return never
     * @throws UnsupportedOperationException always
     */
    @Override
    public SocketChannel openSocketChannel() {
        throw new UnsupportedOperationException("polyplex-selector makes no INET SocketChannel (jnr has none);"
                + " connect with NativeSockets.connect, or use openSocketChannel(StandardProtocolFamily.UNIX)");
    }

    /**
     * A jnr-unixsocket {@code UnixSocketChannel} for {@link StandardProtocolFamily#UNIX}; refused for
     * any other family.
     *
     * @param family the protocol family
     * @return a new, unconnected socket channel in blocking mode
     * @throws IOException if the socket cannot be created
     * @throws UnsupportedOperationException if {@code family} is not UNIX
     */
    @Override
    public SocketChannel openSocketChannel(ProtocolFamily family) throws IOException {
        if (Objects.requireNonNull(family, "family") == StandardProtocolFamily.UNIX) {
            return UnixSocketChannel.create();
        }
        throw new UnsupportedOperationException("polyplex-selector makes socket channels for"
                + " StandardProtocolFamily.UNIX only (jnr-unixsocket's), not " + family);
    }

    /**
     * The backend this provider's selectors run on.
     *
     * @return its name, or {@code "best"} for {@link #getInstance()}'s choice at each open
     */
    public String backend() {
        return custom != null ? custom.name() : backend == null ? "best" : backend;
    }

    @Override
    public String toString() {
        return "PolyplexSelectorProvider[" + backend() + "]";
    }
}
