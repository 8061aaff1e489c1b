/**
 * The select backend of Polyplex. It exports nothing: core finds it through
 * {@link java.util.ServiceLoader} by its {@code provides} clause.
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
