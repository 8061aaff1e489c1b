/**
 * The event queue: {@link io.polyplex.EventQueues} opens an {@link io.polyplex.EventQueue} on a
 * backend found on the class path or module path, and the queue reports which of the caller's
 * sockets are ready ({@link io.polyplex.SocketEvent}, {@link io.polyplex.SocketEventHandler}).
 *
 * <p>The caller keeps its sockets: a queue reads nothing from them, writes nothing to them and
 * never closes them, and it needs only a way to get each one's file descriptor. Every type here is
 * safe to use from any thread; {@link io.polyplex.EventQueue} says how polls, changes, wakeups and
 * close interact.
 *
 * <p>For a thread per connection instead of an event loop, {@link io.polyplex.ParkingPoller} parks
 * threads (virtual threads unmount) until a native fd is ready, and {@code io.polyplex.net}'s
 * {@code BlockingSockets} and {@code BlockingAcceptor} build blocking reads, writes, accepts and
 * connects on it. Errors are {@link io.polyplex.NativeIOException}s naming the call, the fd and the
 * errno; a closed queue throws the unchecked {@link io.polyplex.ClosedEventQueueException}, a closed
 * {@code ParkingPoller} the {@link io.polyplex.ClosedParkingPollerException} its waiters' {@code
 * catch (IOException e)} handles.
 */
package io.polyplex;
