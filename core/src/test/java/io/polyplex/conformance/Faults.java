package io.polyplex.conformance;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Runtime;
import jnr.ffi.provider.LoadedLibrary;

/**
 * Fault injection at a binding seam: a wrapper around a jnr-ffi binding interface (a backend's, or
 * core's LibC) that passes every call through to the real binding, except the one chosen to fail:
 * the Nth use of a named function returns -1 with a chosen errno, without the call being made, as
 * if the kernel had refused it. It also records the order of the calls, so a test can first learn
 * every call site an operation reaches and then fail each in turn.
 *
 * <p>errno is set where the library reads it back: the binding's jnr-ffi {@link Runtime}, or, for a
 * kernel emulated in Java, its own setter. One instance may wrap several bindings; counting is per
 * function name across all of them. Thread-safe.
 */
public final class Faults {

    /** One call as recorded: the function and which use of it this was (1-based). */
    public record Call(String function, int nth) {
        @Override
        public String toString() {
            return function + "#" + nth;
        }
    }

    /**
     * Calls whose failure still releases the fd, so a failed one is made for real and then
     * reported as failed. close: Linux takes the fd out of the table before anything can fail
     * ({@code close} in fs/open.c calls {@code file_close_fd}, then {@code filp_flush}, whose error
     * it returns, "the fd is gone" even on EINTR), as does FreeBSD ({@code kern_close}: {@code
     * fdfree} before {@code closef}) and XNU ({@code close_nocancel}: {@code fp_close_and_unlock}
     * detaches the fileproc first). A close that failed and kept the fd exists on no kernel
     * Polyplex runs on, so the library never closes twice (which could close a reused number).
     */
    private static final java.util.Set<String> RELEASE_ANYWAY = java.util.Set.of("close");

    /**
     * Calls whose EINTR comes after the work has started, so an interrupted one is made for real
     * and then reported as EINTR. connect: POSIX connect(2), "If connect() is interrupted by a
     * signal ... the connection request shall not be aborted, and the connection shall be
     * established asynchronously"; a connect that fails with EINTR without having started exists
     * on no kernel.
     */
    private static final java.util.Set<String> STARTED_BEFORE_EINTR = java.util.Set.of("connect");

    private static final int EINTR = jnr.constants.platform.Errno.EINTR.intValue();

    private final Map<String, Integer> counts = new HashMap<>();
    private final List<Call> calls = new ArrayList<>();
    private String failFunction;
    private int failNth;
    private int failErrno;
    private Call fired;

    /** Makes the {@code nth} (1-based, counted from now) use of {@code function} fail with {@code errno}. */
    public synchronized void failNth(String function, int nth, int errno) {
        counts.clear();
        calls.clear();
        failFunction = function;
        failNth = nth;
        failErrno = errno;
        fired = null;
    }

    /** Forgets counts and any armed fault: from now on calls are only recorded. */
    public synchronized void reset() {
        counts.clear();
        calls.clear();
        failFunction = null;
        fired = null;
    }

    /** The calls made since the last {@link #reset} or {@link #failNth}, in order. */
    public synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The call that was failed, or null if the armed fault has not fired yet. */
    public synchronized Call fired() {
        return fired;
    }

    /** Whether this call is the one to fail; records it either way. */
    private synchronized boolean shouldFail(String function) {
        int n = counts.merge(function, 1, Integer::sum);
        calls.add(new Call(function, n));
        if (function.equals(failFunction) && n == failNth && fired == null) {
            fired = new Call(function, n);
            return true;
        }
        return false;
    }

    /** Wraps {@code real} (a jnr-ffi binding of {@code type}); errno is set through {@code runtime}. */
    public <T> T wrap(Class<T> type, T real, Runtime runtime) {
        return wrap(type, real, runtime::setLastError);
    }

    /** Wraps {@code real}; a failed call's errno is handed to {@code setErrno}. */
    public <T> T wrap(Class<T> type, T real, java.util.function.IntConsumer setErrno) {
        // A jnr-ffi binding is also a LoadedLibrary, which Runtime.getRuntime(binding) asks for its
        // runtime: the wrapper answers for the real binding, so errno is read where it is set.
        Class<?>[] faces = real instanceof LoadedLibrary
                ? new Class<?>[] {type, LoadedLibrary.class} : new Class<?>[] {type};
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), faces, (proxy, method, args) -> {
            if (method.getDeclaringClass() == Object.class || method.getDeclaringClass() == LoadedLibrary.class) {
                return method.invoke(real, args);
            }
            int errno;
            if (shouldFail(method.getName())) {
                synchronized (this) {
                    errno = failErrno;
                }
                if (RELEASE_ANYWAY.contains(method.getName())
                        || errno == EINTR && STARTED_BEFORE_EINTR.contains(method.getName())) {
                    method.invoke(real, args);
                }
                setErrno.accept(errno);
                Class<?> r = method.getReturnType();
                if (r == int.class) {
                    return -1;
                }
                if (r == long.class) {
                    return -1L;
                }
                return null;
            }
            try {
                return method.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }));
    }
}
