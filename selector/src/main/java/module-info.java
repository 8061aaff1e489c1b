/**
 * A {@link java.nio.channels.Selector} over a Polyplex {@link io.polyplex.EventQueue}, for the
 * channels of jnr-enxio and jnr-unixsocket: {@link io.polyplex.selector.PolyplexSelectorProvider}.
 * Code written against the Selector API switches to it by changing the line that opens its
 * selector, and gets epoll on Linux, kqueue on macOS and the BSDs, and the JDK's selection rules.
 *
 * <p>It uses whichever Polyplex backends are on the module path or class path, found by core with
 * {@link java.util.ServiceLoader}, as {@link io.polyplex.EventQueues} does. It does not register
 * itself as the JVM's default {@link java.nio.channels.spi.SelectorProvider}: the JDK's own channels
 * keep the JDK's selector.
 */
module io.polyplex.selector {
    requires transitive io.polyplex;  // PolyplexSelectorProvider.forBackend(BackendProvider)
    requires org.jnrproject.enxio;
    requires org.jnrproject.unixsocket;

    exports io.polyplex.selector;
}
