/**
 * The kqueue backend's implementation; not exported, not an API. {@link
 * io.polyplex.kqueue.KqueueProvider} is what {@link java.util.ServiceLoader} instantiates, and it
 * opens one kqueue per queue; {@link io.polyplex.kqueue.KqueueLibrary} is the binding of the kqueue
 * system calls, and {@link io.polyplex.kqueue.KeventLayout} says where each field of {@code struct
 * kevent} lives on this system. The provider and the binding are public for their users:
 * ServiceLoader, and jnr-ffi, which implements the binding in a class loader of its own.
 */
package io.polyplex.kqueue;
