package io.polyplex.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Virtual threads for a library compiled for Java 17: {@code Thread.ofVirtual()} is looked up once,
 * at run time, so core builds and runs on 17 and uses virtual threads where the JDK has them (21 and
 * later; 19 and 20 had them only as a preview, which this does not use).
 */
public final class VirtualThreads {

    /** {@code Thread.ofVirtual()}, or null before JDK 21. */
    private static final MethodHandle OF_VIRTUAL;
    /** {@code Thread.Builder.name(String)}. */
    private static final MethodHandle NAME;
    /** {@code Thread.Builder.unstarted(Runnable)}. */
    private static final MethodHandle UNSTARTED;

    static {
        MethodHandle ofVirtual = null;
        MethodHandle name = null;
        MethodHandle unstarted = null;
        if (Runtime.version().feature() >= 21) {
            try {
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                Class<?> builder = Class.forName("java.lang.Thread$Builder");
                Class<?> ofVirtualType = Class.forName("java.lang.Thread$Builder$OfVirtual");
                ofVirtual = lookup.findStatic(Thread.class, "ofVirtual", MethodType.methodType(ofVirtualType));
                name = lookup.findVirtual(builder, "name", MethodType.methodType(builder, String.class));
                unstarted = lookup.findVirtual(builder, "unstarted", MethodType.methodType(Thread.class, Runnable.class));
            } catch (ReflectiveOperationException e) {
                ofVirtual = null; // a JDK that claims 21 without the API: use platform threads
            }
        }
        OF_VIRTUAL = ofVirtual;
        NAME = name;
        UNSTARTED = unstarted;
    }

    private VirtualThreads() {
    }

    /**
     * Whether this JDK has virtual threads.
     *
     * @return true on JDK 21 and later
     */
    public static boolean available() {
        return OF_VIRTUAL != null;
    }

    /**
     * A new, unstarted virtual thread.
     *
     * @param name the thread's name
     * @param task what it runs
     * @return the thread
     * @throws UnsupportedOperationException if {@link #available()} is false
     */
    public static Thread unstarted(String name, Runnable task) {
        if (OF_VIRTUAL == null) {
            throw new UnsupportedOperationException("virtual threads need JDK 21 or later; this is "
                    + Runtime.version());
        }
        try {
            Object builder = OF_VIRTUAL.invoke();
            builder = NAME.invoke(builder, name);
            return (Thread) UNSTARTED.invoke(builder, task);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cannot make a virtual thread", e);
        }
    }
}
