/**
 * Native TCP sockets and AF_UNIX socket pairs as jnr-enxio channels ({@link
 * io.polyplex.net.NativeSockets}), created non-blocking and close-on-exec and never raising
 * SIGPIPE, and a blocking accept loop that a shutdown from any thread ends promptly ({@link
 * io.polyplex.net.BlockingAcceptor}). Each method says who owns the descriptors it opens.
 */
package io.polyplex.net;
