/**
 * The event queue: {@link io.polyplex.EventQueues} opens an {@link io.polyplex.EventQueue} on a
 * backend found on the class path or module path, and the queue reports which of the caller's
 * sockets are ready ({@link io.polyplex.SocketEvent}, {@link io.polyplex.SocketEventHandler}).
 *
 * <p>The caller keeps its sockets: a queue reads nothing from them, writes nothing to them and
 * never closes them, and it needs only a way to get each one's file descriptor. Every type here is
 * safe to use from any thread; {@link io.polyplex.EventQueue} says how polls, changes, wakeups and
 * close interact.
 */
package io.polyplex;
