/**
 * The epoll backend of Polyplex, for Linux (epoll_create1 and EPOLLRDHUP: Linux 2.6.27 and newer).
 * It has every {@link io.polyplex.Capability}: edge-triggered and native one-shot modes, the
 * kernel's own peer-closed flag, any fd number, and waits whose cost follows the ready sockets,
 * not the watched ones. {@link io.polyplex.EventQueues#open(java.util.function.ToIntFunction)}
 * takes it first wherever it runs; elsewhere it lists itself as unsupported.
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
module io.polyplex.epoll {
    requires io.polyplex;
    requires org.jnrproject.ffi;

    opens io.polyplex.epoll;

    provides io.polyplex.spi.BackendProvider with io.polyplex.epoll.EpollProvider;
}
