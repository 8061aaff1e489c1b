/**
 * The poll(2) backend of Polyplex, for every POSIX system: any fd number, a wait costs time in
 * proportion to the watched sockets. It has {@link io.polyplex.Capability#UNLIMITED_FDS}, and
 * {@link io.polyplex.Capability#KERNEL_PEER_CLOSED} on Linux only (POLLRDHUP); no edge-triggered
 * mode, and one-shot only as core emulates it. {@link
 * io.polyplex.EventQueues#open(java.util.function.ToIntFunction)} takes it where neither epoll nor
 * kqueue runs.
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
module io.polyplex.poll {
    requires io.polyplex;
    requires org.jnrproject.ffi;

    opens io.polyplex.poll;

    provides io.polyplex.spi.BackendProvider with io.polyplex.poll.PollProvider;
}
