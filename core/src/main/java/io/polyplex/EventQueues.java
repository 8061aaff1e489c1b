package io.polyplex;

import io.polyplex.internal.PollerEventQueue;
import io.polyplex.spi.BackendProvider;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;

/**
 * Opens {@link EventQueue}s and lists the backends on the class path.
 *
 * <p>Backends are found with {@link ServiceLoader} ({@link BackendProvider}). {@link
 * #open(ToIntFunction)} picks the first supported one in the order epoll, kqueue, poll, select
 * (epoll only runs on Linux and kqueue only on macOS and the BSDs, so this is "the best for this
 * OS"), then any other supported backend by name; one that refuses when opened (its kernel lacks
 * something it needs) is passed over for the next. The system property {@value #BACKEND_PROPERTY}
 * overrides the choice.
 *
 * <h2>Example</h2>
 * What is on the class path, and a queue on the best backend or on a named one. (The build
 * compiles and runs this code: {@code examples/src/main/java/io/polyplex/examples/ApiExamples.java}.)
 * <pre>{@code
 * static EventQueue<NativeSelectableChannel> open(String name, PrintStream out) throws IOException {
 *     for (BackendInfo b : EventQueues.backends()) { // every backend on the class path or module path
 *         out.println(b.name() + ": " + (b.supported() ? "runs here, " + b.capabilities()
 *                 : "does not run here, " + b.unsupportedReason().orElse("")));
 *     }
 *     return name == null
 *             ? EventQueues.open(NativeSelectableChannel::getFD)        // the best here, or -Dpolyplex.backend
 *             : EventQueues.open(name, NativeSelectableChannel::getFD); // that one, or an exception saying why not
 * }
 * }</pre>
 */
public final class EventQueues {

    /** System property naming the backend {@link #open(ToIntFunction)} uses. */
    public static final String BACKEND_PROPERTY = "polyplex.backend";

    /** Preference when nothing is forced: scalable kernels first, select last. */
    private static final List<String> PREFERENCE = List.of("epoll", "kqueue", "poll", "select");

    /** Events one kernel wait may return; bigger batches amortise the call, smaller bound memory. */
    static final int DEFAULT_MAX_EVENTS = 1024;

    private EventQueues() {}

    /**
     * Opens a queue on the best backend for this OS, or on the one named by {@value
     * #BACKEND_PROPERTY}.
     *
     * @param <S> the caller's socket type
     * @param fdOf how to get a socket's file descriptor, e.g. {@code
     *     NativeSelectableChannel::getFD}; called on every change, query and delivered event, on
     *     the thread making that call, so it should be cheap
     * @return a new open queue; the caller owns it and must close it, as it holds native resources
     *     (file descriptors, native memory) until then
     * @throws IOException if the backend's kernel object or the wakeup pipe cannot be created (a
     *     {@link NativeIOException}, e.g. EMFILE)
     * @throws IllegalArgumentException if the property names an unknown backend
     * @throws UnsupportedOperationException if no backend (or not the one named) runs here
     */
    public static <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        Objects.requireNonNull(fdOf, "fdOf");
        String forced = System.getProperty(BACKEND_PROPERTY);
        if (forced != null && !forced.isBlank()) {
            return open(forced.trim(), fdOf);
        }
        return openFirst(providers(), fdOf);
    }

    /**
     * Opens the first of {@code providers} that runs here. A provider that says it runs but whose
     * kernel turns out, when opened, to lack something the backend needs (kqueue on DragonFly before
     * 4.6, which ignores EV_RECEIPT) refuses with UnsupportedOperationException; the choice then
     * moves on to the next.
     */
    static <S> EventQueue<S> openFirst(List<BackendProvider> providers, ToIntFunction<? super S> fdOf)
            throws IOException {
        List<String> refused = new ArrayList<>();
        for (BackendProvider p : providers) {
            if (p.unsupportedReason().isEmpty()) {
                try {
                    return open(p, fdOf);
                } catch (UnsupportedOperationException e) {
                    refused.add(p.name() + " refused to open: " + e.getMessage());
                }
            }
        }
        throw new UnsupportedOperationException("no Polyplex backend runs on " + platform() + "; "
                + describe(providers) + providers.stream().filter(p -> p.unsupportedReason().isPresent())
                        .map(p -> "; " + p.name() + " does not: " + p.unsupportedReason().get()).collect(Collectors.joining())
                + (refused.isEmpty() ? "" : "; " + String.join("; ", refused)));
    }

    /**
     * Opens a queue on the named backend.
     *
     * @param <S> the caller's socket type
     * @param backend a name as listed by {@link #backends()}, e.g. {@code "poll"}
     * @param fdOf how to get a socket's file descriptor, e.g. {@code
     *     NativeSelectableChannel::getFD}; called on every change, query and delivered event, on
     *     the thread making that call, so it should be cheap
     * @return a new open queue; the caller owns it and must close it, as it holds native resources
     *     (file descriptors, native memory) until then
     * @throws IOException if the backend's kernel object or the wakeup pipe cannot be created
     * @throws IllegalArgumentException if no backend of that name is on the class path
     * @throws UnsupportedOperationException if it is, but cannot run here
     */
    public static <S> EventQueue<S> open(String backend, ToIntFunction<? super S> fdOf) throws IOException {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(fdOf, "fdOf");
        List<BackendProvider> providers = providers();
        for (BackendProvider p : providers) {
            if (p.name().equals(backend)) {
                if (p.unsupportedReason().isPresent()) {
                    throw new UnsupportedOperationException("backend \"" + backend + "\" does not run on "
                            + platform() + ": " + p.unsupportedReason().get() + "; " + describe(providers));
                }
                return open(p, fdOf);
            }
        }
        throw new IllegalArgumentException("unknown backend \"" + backend + "\"; " + describe(providers));
    }

    /**
     * Opens a queue on a provider the caller supplies: a backend that is not on the class path, or
     * a backend over a substituted binding in tests. The provider's {@link
     * BackendProvider#unsupportedReason()} is not consulted: the caller vouches that it runs here.
     *
     * @param <S> the caller's socket type
     * @param provider the backend to open
     * @param fdOf how to get a socket's file descriptor, e.g. {@code
     *     NativeSelectableChannel::getFD}; called on every change, query and delivered event, on
     *     the thread making that call, so it should be cheap
     * @return a new open queue; the caller owns it and must close it, as it holds native resources
     *     (file descriptors, native memory) until then
     * @throws IOException if the backend's kernel object or the wakeup pipe cannot be created
     * @throws UnsupportedOperationException if the backend refuses to open on this kernel
     */
    public static <S> EventQueue<S> open(BackendProvider provider, ToIntFunction<? super S> fdOf) throws IOException {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(fdOf, "fdOf");
        return new PollerEventQueue<>(provider, fdOf, DEFAULT_MAX_EVENTS);
    }

    /**
     * Every backend on the class path, supported here or not, in order of preference.
     *
     * @return an immutable list, freshly made from {@link ServiceLoader} on each call
     */
    public static List<BackendInfo> backends() {
        List<BackendInfo> list = new ArrayList<>();
        for (BackendProvider p : providers()) {
            // What a queue on it offers (PollerEventQueue.capabilitiesOf: ONE_SHOT, which core
            // emulates, included), so this list and every queue's capabilities() say the same.
            list.add(new BackendInfo(p.name(), p.unsupportedReason().isEmpty(), p.unsupportedReason(),
                    PollerEventQueue.capabilitiesOf(p)));
        }
        return List.copyOf(list);
    }

    private static List<BackendProvider> providers() {
        List<BackendProvider> list = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, EventQueues.class.getClassLoader()).forEach(list::add);
        list.sort(Comparator.comparingInt((BackendProvider p) -> {
            int i = PREFERENCE.indexOf(p.name());
            return i < 0 ? PREFERENCE.size() : i;
        }).thenComparing(BackendProvider::name));
        return list;
    }

    private static String describe(List<BackendProvider> providers) {
        if (providers.isEmpty()) {
            return EventQueues.class.getModule().isNamed()
                    ? "no backend module is on the module path (add io.polyplex.epoll, io.polyplex.kqueue,"
                            + " io.polyplex.poll or io.polyplex.select: the jars polyplex-backend-epoll, -kqueue,"
                            + " -poll or -select)"
                    : "no backend is on the class path (add polyplex-backend-epoll, -kqueue, -poll or -select)";
        }
        // Two lists: a backend can be on the class path and still not run on this OS (kqueue on Linux).
        String here = providers.stream().filter(p -> p.unsupportedReason().isEmpty()).map(BackendProvider::name)
                .collect(Collectors.joining(", "));
        return "on the class path: " + providers.stream().map(BackendProvider::name).collect(Collectors.joining(", "))
                + "; run here: " + (here.isEmpty() ? "none" : here);
    }

    private static String platform() {
        return System.getProperty("os.name", "?") + " " + System.getProperty("os.arch", "?").toLowerCase(Locale.ROOT);
    }
}
