package io.polyplex;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * A readiness multiplexer over native socket file descriptors: one kernel object (an epoll set, a
 * kqueue, or the interest sets of poll/select) plus one wakeup channel, shared by any number of
 * threads.
 *
 * <p>{@code S} is whatever the caller calls a socket (its own connection object, a jnr-enxio
 * {@code NativeSelectableChannel}, ...); the function given to {@link EventQueues#open} says how to
 * get its file descriptor. The queue never closes, reads or writes the caller's sockets: the caller
 * owns them. Sockets are compared by identity ({@code ==}), not {@code equals}.
 *
 * <h2>Interest state</h2>
 * Each direction (read, write) of a socket is in one of three states: not subscribed, subscribed
 * (events are reported), or disabled (the subscription is kept, nothing is reported). {@code
 * subscribe*} moves a direction to subscribed (re-enabling it if it was disabled), {@code disable*}
 * moves a subscribed direction to disabled (a direction that is not subscribed stays so), and
 * {@link #remove} forgets the socket. {@code disable*} and {@code remove} of a socket the queue does
 * not know are no-ops. A socket whose every direction is disabled is taken out of the kernel's
 * interest set, so a peer hang-up on it cannot make every poll return at once.
 *
 * <h2>Trigger modes</h2>
 * Level-triggered by default: a ready socket is reported by every poll until it is no longer ready.
 * {@link Trigger#EDGE} and {@link Trigger#ONE_SHOT} are offered where {@link #capabilities()} says
 * so ({@link Capability#EDGE_TRIGGERED}, {@link Capability#ONE_SHOT}); elsewhere {@link
 * #subscribe(Object, int, Trigger)} refuses them with {@link UnsupportedOperationException}. After a
 * one-shot socket's event is delivered, all its subscribed directions are disabled until the next
 * {@code subscribe*}.
 *
 * <h2>Threads</h2>
 * Every method may be called from any thread at any time, also while other threads are blocked in
 * {@code poll}. A subscription made from another thread takes effect in a poll that is already
 * blocked, without waiting for its timeout. Several threads may call {@code poll} at once: they take
 * turns (one waits in the kernel and dispatches; the others wait for it, each within its own
 * timeout), so one ready event is delivered to one thread. Handlers run on the polling thread and may
 * call any method of the queue except {@code poll} itself; a handler that removes a socket, or
 * closes it so that its channel reports closed or {@code fdOf} no longer maps it to the event's fd,
 * prevents that socket's events still pending in the same batch from being delivered. A remove made
 * by another thread while a batch is being dispatched may race with that batch's delivery.
 *
 * <h2>Wakeup and close</h2>
 * {@link #wakeup()} makes the poll in progress, or else the next one, return promptly, possibly
 * with no events; many wakeups before a poll cost one. {@link #close()} makes every thread blocked
 * in {@code poll} return promptly by throwing {@link ClosedEventQueueException}, as does every later
 * call except {@link #isOpen()} and {@link #close()}. It releases every native resource of the queue
 * (the kernel object and the wakeup pipe) as soon as no thread is inside {@code poll}, and never
 * closes the caller's sockets.
 *
 * <h2>Interrupts</h2>
 * As with java.nio's {@code Selector.select}, interrupting a thread that is blocked in {@code poll}
 * (in the kernel, or waiting for its turn) makes that poll return promptly, with the events that are
 * ready at once or with none; the thread's interrupt status stays set, and a thread already
 * interrupted does not block at all. A loop that polls on such a thread must check {@link
 * Thread#interrupted()} itself. Other threads' polls, and later ones, are not affected (the wakeup is
 * internal: it is not a {@link #wakeup()}).
 *
 * <h2>Peer closed and errors</h2>
 * When the peer closes or shuts down its write side, the event has {@link SocketEvent#PEER_CLOSED}
 * set without any data being consumed: bytes the peer sent before closing can still be read. Socket
 * errors (a reset, a failed connect) set {@link SocketEvent#ERROR} and also the subscribed
 * directions, so a handler that reads or writes sees the error.
 *
 * <h2>Sockets closed behind the queue's back</h2>
 * A socket the caller closed without {@link #remove} does not hurt the queue: polling goes on for
 * every other socket and never spins, and a late {@code remove} succeeds. When a new socket gets the
 * same fd number and is subscribed, it replaces the stale entry: the new socket gets only its own
 * events, the old one never receives another, and a late {@code remove(old)} leaves the new one
 * registered. One exception the kernel imposes: if the fd was duplicated (dup, or inherited by a
 * child process) before the caller closed it, epoll and kqueue keep watching the still-open file
 * and the queue can no longer take it out; remove a socket <em>before</em> closing it whenever its
 * fd may be shared.
 *
 * <h2>One fd, one socket</h2>
 * Subscribing a {@link java.nio.channels.Channel} that is closed throws {@link
 * java.nio.channels.ClosedChannelException}, whether or not its fd number has been reused (watching
 * the number would watch whatever file has it now). Subscribing a second object for an fd that is
 * watched for another {@code Channel} that is still open (two jnr-enxio channels over one fd, say)
 * throws {@link IllegalArgumentException}: the queue cannot tell which of them an event is for.
 * For sockets that are not {@code Channel}s the queue cannot ask whether the old one is still open,
 * so a new object on a watched fd is taken for the fd's new owner and replaces the entry, as above.
 *
 * <h2>Errors</h2>
 * A {@code null} argument throws {@link NullPointerException} naming it. A negative, closed or
 * unsupported fd throws {@link NativeIOException} naming the system call, the fd and the errno; a
 * failed call leaves the socket's state exactly as it was before it. A call that changes nothing
 * (subscribing what is already subscribed) makes no system call, so it does not notice that the
 * caller has closed the fd meanwhile.
 *
 * <h2>Example</h2>
 * An event loop that any thread can stop, and the shutdown idiom: set a flag, then {@link
 * #wakeup()}, which never throws, so it cannot race with {@link #close()}. The handler catches
 * {@code IOException} around its reads (see {@link SocketEventHandler} for why it cannot throw it),
 * and removes a socket before closing it. (The build compiles and runs this code: {@code
 * examples/src/main/java/io/polyplex/examples/ApiExamples.java}.)
 * <pre>{@code
 * static long countBytes(EventQueue<NativeSocketChannel> queue, AtomicBoolean running) throws IOException {
 *     ByteBuffer buf = ByteBuffer.allocateDirect(8192);
 *     long[] total = {0};
 *     while (running.get()) {
 *         queue.poll(null, (socket, ops) -> {        // returns after events, or after wakeup()
 *             try {
 *                 int n = socket.read(buf.clear());
 *                 if (n >= 0) {
 *                     total[0] += n;
 *                     return;
 *                 }
 *             } catch (IOException reset) {          // this socket's end, not the loop's
 *             }
 *             try {
 *                 queue.remove(socket);              // remove first, then close
 *                 socket.close();
 *             } catch (IOException ignored) {
 *             }
 *         });
 *     }
 *     return total[0];
 * }
 *
 * static void stop(EventQueue<?> queue, AtomicBoolean running) {   // from any thread
 *     running.set(false);
 *     queue.wakeup();                                // never throws, even once the queue is closed
 * }
 * }</pre>
 *
 * @param <S> the caller's socket type
 */
public interface EventQueue<S> extends Closeable {

    /**
     * Watches {@code socket} for readability (and peer close); re-enables read if it was disabled.
     *
     * @param socket the caller's socket; the queue never closes it
     * @throws IOException if the kernel refuses the change (the fd is negative, closed, or of a
     *     kind the backend cannot watch): a {@link NativeIOException}, after which the socket's
     *     state is as it was; or a {@link io.polyplex.spi.RegistrationLostException} (kqueue),
     *     after which the queue has forgotten the socket; or a {@link
     *     java.nio.channels.ClosedChannelException} if {@code socket} is a closed channel
     * @throws IllegalArgumentException if the fd is watched for another channel that is still open
     * @throws ClosedEventQueueException if the queue is closed
     */
    void subscribeRead(S socket) throws IOException;

    /**
     * Watches {@code socket} for writability; re-enables write if it was disabled.
     *
     * @param socket the caller's socket; the queue never closes it
     * @throws IOException if the kernel refuses the change (the fd is negative, closed, or of a
     *     kind the backend cannot watch): a {@link NativeIOException}, after which the socket's
     *     state is as it was; or a {@link io.polyplex.spi.RegistrationLostException} (kqueue),
     *     after which the queue has forgotten the socket; or a {@link
     *     java.nio.channels.ClosedChannelException} if {@code socket} is a closed channel
     * @throws IllegalArgumentException if the fd is watched for another channel that is still open
     * @throws ClosedEventQueueException if the queue is closed
     */
    void subscribeWrite(S socket) throws IOException;

    /**
     * Watches {@code socket} for both directions; re-enables each that was disabled.
     *
     * @param socket the caller's socket; the queue never closes it
     * @throws IOException if the kernel refuses the change (the fd is negative, closed, or of a
     *     kind the backend cannot watch): a {@link NativeIOException}, after which the socket's
     *     state is as it was; or a {@link io.polyplex.spi.RegistrationLostException} (kqueue),
     *     after which the queue has forgotten the socket; or a {@link
     *     java.nio.channels.ClosedChannelException} if {@code socket} is a closed channel
     * @throws IllegalArgumentException if the fd is watched for another channel that is still open
     * @throws ClosedEventQueueException if the queue is closed
     */
    void subscribeReadWrite(S socket) throws IOException;

    /**
     * Subscribes the directions in {@code ops} ({@link SocketEvent#READ}, {@link SocketEvent#WRITE}
     * or both) with the given trigger mode. The mode applies to the whole socket: it replaces the
     * mode of directions already subscribed. {@code subscribeRead} and friends keep the socket's
     * current mode, or use {@link Trigger#LEVEL} for a socket the queue does not know yet.
     *
     * @param socket the caller's socket; the queue never closes it
     * @param ops {@link SocketEvent#READ}, {@link SocketEvent#WRITE} or both
     * @param trigger the trigger mode for the whole socket
     * @throws IOException if the kernel refuses the change (the fd is negative, closed, or of a
     *     kind the backend cannot watch): a {@link NativeIOException}, after which the socket's
     *     state is as it was; or a {@link io.polyplex.spi.RegistrationLostException} (kqueue),
     *     after which the queue has forgotten the socket; or a {@link
     *     java.nio.channels.ClosedChannelException} if {@code socket} is a closed channel
     * @throws ClosedEventQueueException if the queue is closed
     * @throws UnsupportedOperationException if the backend lacks the mode's capability
     * @throws IllegalArgumentException if {@code ops} is empty or has bits other than READ and WRITE,
     *     or if the fd is watched for another channel that is still open
     */
    void subscribe(S socket, int ops, Trigger trigger) throws IOException;

    /**
     * Keeps the read subscription but stops reporting it; no-op if read is not subscribed.
     *
     * @param socket the caller's socket; the queue never closes it
     * @throws IOException if the kernel refuses the change (the fd is negative, closed, or of a
     *     kind the backend cannot watch): a {@link NativeIOException}, after which the socket's
     *     state is as it was; or a {@link io.polyplex.spi.RegistrationLostException} (kqueue),
     *     after which the queue has forgotten the socket
     * @throws ClosedEventQueueException if the queue is closed
     */
    void disableRead(S socket) throws IOException;

    /**
     * Keeps the write subscription but stops reporting it; no-op if write is not subscribed.
     *
     * @param socket the caller's socket; the queue never closes it
     * @throws IOException if the kernel refuses the change (the fd is negative, closed, or of a
     *     kind the backend cannot watch): a {@link NativeIOException}, after which the socket's
     *     state is as it was; or a {@link io.polyplex.spi.RegistrationLostException} (kqueue),
     *     after which the queue has forgotten the socket
     * @throws ClosedEventQueueException if the queue is closed
     */
    void disableWrite(S socket) throws IOException;

    /**
     * Disables both directions (each only if subscribed).
     *
     * @param socket the caller's socket; the queue never closes it
     * @throws IOException if the kernel refuses the change (the fd is negative, closed, or of a
     *     kind the backend cannot watch): a {@link NativeIOException}, after which the socket's
     *     state is as it was; or a {@link io.polyplex.spi.RegistrationLostException} (kqueue),
     *     after which the queue has forgotten the socket
     * @throws ClosedEventQueueException if the queue is closed
     */
    void disableReadWrite(S socket) throws IOException;

    /**
     * Forgets the socket entirely; its events still pending in the current batch are dropped.
     * Succeeds also when the caller already closed the socket, and is a no-op for an unknown socket
     * or one whose fd now belongs to another subscribed socket.
     *
     * @param socket the caller's socket; the queue never closes it
     * @throws IOException if the kernel refuses the removal for a reason other than the fd being
     *     gone already: a {@link NativeIOException}, after which the socket is still registered as
     *     it was
     * @throws ClosedEventQueueException if the queue is closed
     */
    void remove(S socket) throws IOException;

    /**
     * Whether read is subscribed (enabled or disabled).
     *
     * @param socket the caller's socket
     * @return false also for a socket the queue does not know
     * @throws ClosedEventQueueException if the queue is closed
     */
    boolean isSubscribedRead(S socket);

    /**
     * Whether write is subscribed (enabled or disabled).
     *
     * @param socket the caller's socket
     * @return false also for a socket the queue does not know
     * @throws ClosedEventQueueException if the queue is closed
     */
    boolean isSubscribedWrite(S socket);

    /**
     * Whether read is subscribed and disabled.
     *
     * @param socket the caller's socket
     * @return false also for a socket the queue does not know
     * @throws ClosedEventQueueException if the queue is closed
     */
    boolean isDisabledRead(S socket);

    /**
     * Whether write is subscribed and disabled.
     *
     * @param socket the caller's socket
     * @return false also for a socket the queue does not know
     * @throws ClosedEventQueueException if the queue is closed
     */
    boolean isDisabledWrite(S socket);

    /**
     * Waits for events and returns them as a new list (convenient, allocates; see {@link
     * #poll(Duration, SocketEventHandler)} for the zero-garbage form).
     *
     * @param timeout {@code null} waits until an event, a wakeup, a close or an interrupt of this
     *     thread; {@link Duration#ZERO} does not block; otherwise the call never returns before the
     *     timeout has passed unless an event, a wakeup, a close or an interrupt of this thread arrived
     * @return the events, in a new list that belongs to the caller; empty if the poll ended without
     *     any
     * @throws IOException if the kernel wait fails: a {@link NativeIOException} (EINTR and EAGAIN
     *     are never thrown: the wait goes on for the time that remains)
     * @throws ClosedEventQueueException if the queue is or becomes closed
     * @throws IllegalArgumentException if {@code timeout} is negative
     * @throws IllegalStateException if called from a handler of this queue
     */
    List<SocketEvent<S>> poll(Duration timeout) throws IOException;

    /**
     * Waits for events and hands each to {@code handler} on this thread. Allocates nothing in steady
     * state. If the handler throws, the exception propagates and the rest of the batch is dropped
     * (level-triggered readiness is reported again by the next poll).
     *
     * @param timeout as for {@link #poll(Duration)}
     * @param handler called on this thread once per ready socket
     * @return the number of events delivered
     * @throws IOException if the kernel wait fails, as for {@link #poll(Duration)}
     * @throws ClosedEventQueueException if the queue is or becomes closed
     * @throws IllegalArgumentException if {@code timeout} is negative
     * @throws IllegalStateException if called from a handler of this queue
     */
    int poll(Duration timeout, SocketEventHandler<S> handler) throws IOException;

    /**
     * Makes the poll in progress, or else the next one, return promptly. Never blocks and never
     * throws: on a closed queue it does nothing (a closed queue's polls return anyway, with {@link
     * ClosedEventQueueException}), so the usual shutdown, {@code running = false; queue.wakeup();},
     * may race another thread's {@code close()} safely, as {@code Selector.wakeup()} may. A wakeup
     * racing {@code close()} never writes into the queue's pipe once its fds are closed (their
     * numbers may already be another file's).
     */
    void wakeup();

    /**
     * Whether {@link #close()} has not been called.
     *
     * @return false once any thread has called {@link #close()}
     */
    boolean isOpen();

    /**
     * Closes the queue; idempotent; never closes the caller's sockets. Returns without waiting for
     * pollers: they return promptly with {@link ClosedEventQueueException}, and the native
     * resources are released when the last of them has left {@code poll}.
     */
    @Override
    void close();

    /**
     * The backend's name.
     *
     * @return {@code "epoll"}, {@code "kqueue"}, {@code "poll"}, {@code "select"}, or the name of
     *     a backend of the caller's ({@link EventQueues#open(io.polyplex.spi.BackendProvider,
     *     java.util.function.ToIntFunction)})
     * @throws ClosedEventQueueException if the queue is closed
     */
    String backend();

    /**
     * What this queue's backend offers beyond level-triggered readiness.
     *
     * @return an unmodifiable set; it always contains {@link Capability#ONE_SHOT}, which core
     *     emulates where the kernel lacks it
     * @throws ClosedEventQueueException if the queue is closed
     */
    Set<Capability> capabilities();
}
