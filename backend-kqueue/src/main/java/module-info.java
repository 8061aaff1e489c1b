/**
 * The kqueue backend of Polyplex. It exports nothing: core finds it through
 * {@link java.util.ServiceLoader} by its {@code provides} clause.
 *
 * <p>Its package is opened (accessible at run time, never at compile time) because jnr-ffi defines
 * the implementation of its binding interface in a class loader it creates for that load; see
 * core's module descriptor and ARCHITECTURE.md ("Java modules").
 */
module io.polyplex.kqueue {
    requires io.polyplex;
    requires org.jnrproject.ffi;
    requires org.jnrproject.constants;   // Fcntl flags

    opens io.polyplex.kqueue;

    provides io.polyplex.spi.BackendProvider with io.polyplex.kqueue.KqueueProvider;
}
