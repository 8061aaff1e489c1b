/**
 * The example programs: the demo HTTP/1.1 server (the README's main command) and the echo server.
 * They use Polyplex's public API only; the backends are bound at run time through
 * {@link java.util.ServiceLoader}, which resolves every backend module on the module path.
 */
module io.polyplex.demo {
    requires io.polyplex;
    requires org.jnrproject.unixsocket;   // --unix: an AF_UNIX listener that is a jnr-enxio channel
    requires org.jnrproject.ffi;          // --unix: the errno of a failed bind
    requires org.jnrproject.constants;    // --unix: its name

    exports io.polyplex.demo;
}
