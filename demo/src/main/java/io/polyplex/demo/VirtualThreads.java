package io.polyplex.demo;

import java.lang.reflect.InvocationTargetException;
import java.util.concurrent.ThreadFactory;

/**
 * Virtual threads for a program compiled for Java 17: {@code Thread.ofVirtual()} is looked up at run
 * time, so the demo builds and runs on 17 and uses virtual threads where the JDK has them (21 and
 * later; 19 and 20 had them only as a preview, which is not enough).
 */
final class VirtualThreads {

    /** The first feature release with final virtual threads. */
    static final int FIRST_JDK = 21;

    private VirtualThreads() {
    }

    /** Whether this JDK has virtual threads. */
    static boolean available() {
        return Runtime.version().feature() >= FIRST_JDK;
    }

    /** Why {@code --virtual-threads} cannot run here, in one line; null if it can. */
    static String unavailableReason() {
        return available() ? null
                : "--virtual-threads needs JDK " + FIRST_JDK + " or newer (this is " + Runtime.version() + ")";
    }

    /**
     * A factory of unstarted virtual threads named {@code prefix0}, {@code prefix1}, ...; safe for
     * any number of threads at once.
     *
     * @throws UnsupportedOperationException with {@link #unavailableReason()} before JDK 21
     */
    static ThreadFactory factory(String prefix) {
        if (!available()) {
            throw new UnsupportedOperationException(unavailableReason());
        }
        try {
            Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
            Class<?> builderType = Class.forName("java.lang.Thread$Builder");
            builder = builderType.getMethod("name", String.class, long.class).invoke(builder, prefix, 0L);
            return (ThreadFactory) builderType.getMethod("factory").invoke(builder);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new UnsupportedOperationException("virtual threads do not run here: " + cause, cause);
        } catch (ReflectiveOperationException e) {
            throw new UnsupportedOperationException("virtual threads do not run here: " + e, e);
        }
    }
}
