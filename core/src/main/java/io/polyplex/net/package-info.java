/**
 * Native sockets for the event queue and for threads that block: {@link
 * io.polyplex.net.NativeSockets} makes TCP sockets and AF_UNIX socket pairs as jnr-enxio channels
 * (non-blocking and close-on-exec from the start, never raising SIGPIPE) and makes the socket calls
 * jnr-enxio lacks, for channels and raw fds alike (jnr-unixsocket's channels included); {@link
 * io.polyplex.net.BlockingSockets} reads, writes, accepts and connects, each with a timeout, by
 * parking in a {@link io.polyplex.ParkingPoller} (a virtual thread pins no carrier); {@link
 * io.polyplex.net.BlockingAcceptor} is a blocking accept loop for any number of threads that a
 * shutdown from any thread ends promptly, and that never spins when the process runs out of
 * descriptors. Each method says who owns the descriptors it opens.
 */
package io.polyplex.net;
