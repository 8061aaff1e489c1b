/**
 * Polyplex core: the event queue ({@code io.polyplex}), the backend SPI ({@code io.polyplex.spi})
 * and native TCP sockets with a blocking acceptor ({@code io.polyplex.net}).
 *
 * <p>Backends are found with {@link java.util.ServiceLoader}: put at least one backend module
 * ({@code io.polyplex.epoll}, {@code io.polyplex.kqueue}, {@code io.polyplex.poll},
 * {@code io.polyplex.select}) on the module path or the class path.
 *
 * <p>{@code io.polyplex.internal} (self-pipe, errno mapping, descriptor probes) is exported only to
 * Polyplex's own backends, which are released with core under one version. It is also
 * <em>opened</em>, without being exported: jnr-ffi defines the implementation of each binding
 * interface (here {@code LibC}) in a class loader it creates for that load, whose unnamed module
 * cannot be named in advance, and the JVM requires the interface's package to be exported or open
 * to it at run time. An open package is accessible at run time only; no module can compile
 * against it. ARCHITECTURE.md ("Java modules") gives the whole argument.
 *
 * <p>Native access: jffi loads its stub with {@code System.load}, so on JDK 22+ grant
 * {@code --enable-native-access=org.jnrproject.jffi} (module path) or {@code ALL-UNNAMED}
 * (class path).
 */
module io.polyplex {
    requires transitive org.jnrproject.enxio;   // NativeSockets returns jnr-enxio channels
    requires org.jnrproject.ffi;
    // VariadicFunction calls variadic C functions through jffi call contexts of its own.
    requires org.jnrproject.jffi;
    requires org.jnrproject.posix;
    requires org.jnrproject.constants;
    // jnr-ffi is an automatic module and cannot declare that it needs ASM, an explicit module; an
    // explicit module that nobody requires is not resolved, so we require it on jnr-ffi's behalf.
    requires org.objectweb.asm;
    // jffi, also automatic, reaches native memory through sun.misc.Unsafe when jdk.unsupported is in
    // the module graph (a JNI call per access otherwise), and jffi and jnr-ffi log through
    // java.util.logging: required here for the same reason, so every application gets them.
    requires jdk.unsupported;
    requires java.logging;

    exports io.polyplex;
    exports io.polyplex.spi;
    exports io.polyplex.net;
    exports io.polyplex.internal to
            io.polyplex.epoll, io.polyplex.kqueue, io.polyplex.poll, io.polyplex.select;
    opens io.polyplex.internal;

    uses io.polyplex.spi.BackendProvider;
}
