/**
 * The seam between core and the backends. A backend module ships a {@link
 * io.polyplex.spi.BackendProvider} (found with {@link java.util.ServiceLoader}) that opens a {@link
 * io.polyplex.spi.Backend}: a thin translation of fds, interest bits and 64-bit tokens to one
 * system-call family. All per-socket state (subscribed, disabled, trigger mode, fd to socket,
 * generations against fd reuse) lives once, in core's {@code PollerEventQueue}; a backend keeps only
 * what its kernel interface needs (an event buffer, for poll/select a copy of the interest sets).
 */
package io.polyplex.spi;
