package io.polyplex;

/**
 * Thrown by every method of a closed {@link EventQueue} except {@code isOpen} and {@code close},
 * and by every {@code poll} that was blocked when the queue was closed. Unchecked, like {@link
 * java.nio.channels.ClosedSelectorException}: using a closed queue is a programming error or a
 * shutdown in progress, not an I/O failure.
 */
public class ClosedEventQueueException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** Creates one with the message "event queue is closed". */
    public ClosedEventQueueException() {
        super("event queue is closed");
    }

    /**
     * Creates one with the given message.
     *
     * @param message the detail message, e.g. naming the closed queue's backend
     */
    public ClosedEventQueueException(String message) {
        super(message);
    }
}
