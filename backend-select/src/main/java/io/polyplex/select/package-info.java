/**
 * The select backend's implementation; not exported, not an API. {@link
 * io.polyplex.select.SelectProvider} is what {@link java.util.ServiceLoader} instantiates, and it
 * opens one select interest set per queue; {@link io.polyplex.select.SelectLibrary} is the binding
 * of select(2) (and of poll(2), to examine one fd). Both are public only for those two users:
 * ServiceLoader, and jnr-ffi, which implements the binding in a class loader of its own.
 */
package io.polyplex.select;
