/**
 * The epoll backend's implementation; not exported, not an API. {@link
 * io.polyplex.epoll.EpollProvider} is what {@link java.util.ServiceLoader} instantiates, and it
 * opens one epoll instance per queue; {@link io.polyplex.epoll.EpollLibrary} is the binding of the
 * epoll system calls. Both are public only for those two users: ServiceLoader, and jnr-ffi, which
 * implements the binding in a class loader of its own.
 */
package io.polyplex.epoll;
