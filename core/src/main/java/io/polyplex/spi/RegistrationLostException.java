package io.polyplex.spi;

import io.polyplex.NativeIOException;

/**
 * A change to a registration failed, and putting the previous registration back failed too, so
 * the backend removed the fd from its kernel set rather than leave it half-registered. Core then
 * forgets the socket (it is no longer subscribed to anything) and the caller sees this exception,
 * whose message names the first failure and says so. Only backends whose kernel applies a change in
 * several steps throw it (kqueue: a new trigger mode is a delete and an add).
 */
public class RegistrationLostException extends NativeIOException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates one that carries the first failure's call, fd and errno, and has the restore failure
     * as a suppressed exception.
     *
     * @param failure the change that failed first
     * @param restore why the previous registration could not be put back
     */
    @SuppressWarnings("this-escape") // addSuppressed is final in Throwable: no subclass code runs early
    public RegistrationLostException(NativeIOException failure, NativeIOException restore) {
        super(failure, "putting the previous registration back failed too (" + restore.getMessage()
                + "), so the socket was removed from the queue: subscribe it again");
        addSuppressed(restore);
    }
}
