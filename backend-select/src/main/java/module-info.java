/**
 * The select(2) backend of Polyplex, for every POSIX system, and the last choice of {@link
 * io.polyplex.EventQueues#open(java.util.function.ToIntFunction)}: it watches only fds below
 * FD_SETSIZE (1024; a larger one is refused when subscribed, with a {@link
 * io.polyplex.NativeIOException} that names the backends to use instead), and a wait costs time in
 * proportion to the highest fd. It has no {@link io.polyplex.Capability}: no edge-triggered mode,
 * one-shot only as core emulates it, and peer close found by core's probe of readable sockets.
 *
 * <p>It exports nothing: applications use it only through core's API ({@code io.polyplex}), which
 * finds it with {@link java.util.ServiceLoader} by its {@code provides} clause, on the module path
 * or the class path. The package documented with it is its implementation, described for
 * maintainers and not an API: on the module path no other module can compile against it.
 *
 * <p>Its package is opened (accessible at run time, never at compile time) because jnr-ffi defines
 * the implementation of its binding interface in a class loader it creates for that load; see
 * core's module descriptor and ARCHITECTURE.md ("Java modules").
 */
module io.polyplex.select {
    requires io.polyplex;
    requires org.jnrproject.ffi;

    opens io.polyplex.select;

    provides io.polyplex.spi.BackendProvider with io.polyplex.select.SelectProvider;
}
