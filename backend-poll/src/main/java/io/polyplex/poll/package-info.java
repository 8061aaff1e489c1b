/**
 * The poll backend's implementation; not exported, not an API. {@link
 * io.polyplex.poll.PollProvider} is what {@link java.util.ServiceLoader} instantiates, and it opens
 * one poll interest set per queue; {@link io.polyplex.poll.PollLibrary} is the binding of poll(2).
 * Both are public only for those two users: ServiceLoader, and jnr-ffi, which implements the
 * binding in a class loader of its own.
 */
package io.polyplex.poll;
