/**
 * The kqueue backend of Polyplex, for macOS, FreeBSD, OpenBSD and DragonFly on 64-bit CPUs. It has
 * every {@link io.polyplex.Capability}: edge-triggered (EV_CLEAR) and native one-shot modes, the
 * kernel's own peer-closed flag (EV_EOF), any fd number, and waits whose cost follows the ready
 * sockets. {@link io.polyplex.EventQueues#open(java.util.function.ToIntFunction)} takes it where
 * epoll does not run.
 *
 * <p>It lists itself as unsupported where it does not know the layout of {@code struct kevent}
 * (other systems, 32-bit CPUs, a FreeBSD libc whose {@code kevent} is neither known version)
 * rather than guess. A kernel that ignores EV_RECEIPT (DragonFly before 4.6) is found out when a
 * queue opens: the open is refused with {@link UnsupportedOperationException}, and {@code
 * EventQueues.open} goes on to the next backend. A change that fails, and whose undoing fails too,
 * leaves the socket unsubscribed and throws {@link io.polyplex.spi.RegistrationLostException}.
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
module io.polyplex.kqueue {
    requires io.polyplex;
    requires org.jnrproject.ffi;
    requires org.jnrproject.constants;   // Fcntl flags

    opens io.polyplex.kqueue;

    provides io.polyplex.spi.BackendProvider with io.polyplex.kqueue.KqueueProvider;
}
