package io.polyplex.ffi;

import com.kenai.jffi.CallContext;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * The child JVM of {@link CallContextTest}: a Java agent that keeps the bytes of every class
 * jnr-ffi generates, and a main that loads the process's jnr-ffi bindings in the order given on the
 * command line, then reads, for every bound method Polyplex calls, the jffi call context the method
 * really uses, and prints one line per method: {@code OK} or {@code WRONG}, the context's fixed
 * parameter count, its parameter count, and the count the C function has.
 *
 * <p>"Really uses" is read from the generated code, not recomputed: each generated method's
 * bytecode names the fields it reads, and the probe takes the call context from those fields (a
 * {@link CallContext}, or the jffi {@code Function} inside the invoker of a variadic binding). A
 * default method of a binding, which jnr-ffi does not bind, is read the same way from the binding
 * interface's own class file: the static field it reads is Polyplex's {@code VariadicFunction},
 * whose context is taken. Run with {@code -Djnr.ffi.x86asm.enabled=false}: on x86-64 jnr-ffi
 * compiles fixed-arity methods to machine-code stubs that call the function directly; with them
 * off, it generates what it generates on arm64, where every call goes through its call context.
 * The expected fixed count comes from the C prototypes ({@code VariadicBindings.VARIADIC}), never
 * from the bindings' annotations.
 */
public final class CallContextProbe {

    private static final Map<String, byte[]> GENERATED = new ConcurrentHashMap<>();

    private CallContextProbe() {}

    /**
     * The agent: keeps the bytes of jnr-ffi's generated binding classes.
     *
     * @param args unused
     * @param instrumentation the JVM's instrumentation
     */
    public static void premain(String args, Instrumentation instrumentation) {
        instrumentation.addTransformer(new ClassFileTransformer() {
            @Override
            public byte[] transform(ClassLoader loader, String name, Class<?> redefined, ProtectionDomain domain,
                                    byte[] bytes) {
                if (name != null && name.contains("$jnr$ffi$")) {
                    GENERATED.put(name, bytes.clone());
                }
                return null;
            }
        });
    }

    /** A loaded binding, and which of its methods Polyplex calls (directly, or through jnr-enxio's channels). */
    record Binding(String name, Object instance, Class<?> api, Predicate<Method> calledByPolyplex) { }

    /** The process's binding groups, by the names the test orders them with. */
    static final List<String> GROUPS = List.of("LibC", "SocketLibrary", "KqueueLibrary", "EpollLibrary", "PollLibrary",
            "SelectLibrary", "DynamicLinker", "jnr-enxio", "jnr-posix", "jnr-unixsocket");

    /** jnr-posix functions Polyplex calls: fstat (Descriptors), open and close (BlockingAcceptor's spare fd). */
    private static final Set<String> POSIX_CALLED = Set.of("fstat", "fstat64", "__fxstat", "__fxstat64", "open",
            "open64", "close");

    private static List<Binding> load(String group) throws Exception {
        Predicate<Method> all = m -> true;
        return switch (group) {
            case "LibC" -> List.of(new Binding(group, io.polyplex.internal.LibC.INSTANCE, io.polyplex.internal.LibC.class, all));
            case "SocketLibrary" -> List.of(new Binding(group, io.polyplex.internal.SocketLibrary.INSTANCE,
                    io.polyplex.internal.SocketLibrary.class, all));
            case "KqueueLibrary" -> List.of(holder("io.polyplex.kqueue.KqueueProvider", group, "io.polyplex.kqueue.KqueueLibrary"));
            case "EpollLibrary" -> List.of(holder("io.polyplex.epoll.EpollProvider", group, "io.polyplex.epoll.EpollLibrary"));
            case "PollLibrary" -> List.of(holder("io.polyplex.poll.PollProvider", group, "io.polyplex.poll.PollLibrary"));
            case "SelectLibrary" -> List.of(holder("io.polyplex.select.SelectProvider", group, "io.polyplex.select.SelectLibrary"));
            case "DynamicLinker" -> List.of(new Binding(group, // as SymbolVersions binds it
                    jnr.ffi.LibraryLoader.create(io.polyplex.internal.SymbolVersions.DynamicLinker.class).load("RTLD_DEFAULT"),
                    io.polyplex.internal.SymbolVersions.DynamicLinker.class, all));
            case "jnr-enxio" -> List.of(new Binding(group, staticCall("jnr.enxio.channels.Native", "libc"),
                    Class.forName("jnr.enxio.channels.Native$LibC"), all));
            case "jnr-posix" -> {
                Object libc = ((jnr.posix.BaseNativePOSIX) jnr.posix.POSIXFactory.getNativePOSIX()).libc();
                Class<?> api = jnr.posix.LibC.class; // or the OS's extension of it (LinuxLibC, ...) that was loaded
                for (Class<?> i : libc.getClass().getInterfaces()) {
                    if (jnr.posix.LibC.class.isAssignableFrom(i)) {
                        api = i;
                    }
                }
                yield List.of(new Binding(group, libc, api, m -> POSIX_CALLED.contains(m.getName())));
            }
            case "jnr-unixsocket" -> List.of(new Binding(group, staticCall("jnr.unixsocket.Native", "libc"),
                    Class.forName("jnr.unixsocket.Native$LibC"), m -> false)); // loaded for the contexts it claims
            default -> throw new IllegalArgumentException(group);
        };
    }

    private static Binding holder(String provider, String name, String api) throws Exception {
        Field f = Class.forName(provider + "$Holder").getDeclaredField("LIBRARY");
        f.setAccessible(true);
        return new Binding(name, f.get(null), Class.forName(api), m -> true);
    }

    private static Object staticCall(String type, String method) throws Exception {
        Method m = Class.forName(type).getDeclaredMethod(method);
        m.setAccessible(true);
        return m.invoke(null);
    }

    /**
     * Loads the groups in the order given, then prints one line per bound method Polyplex calls.
     *
     * @param order group names, first loaded first
     * @throws Exception if the probe itself fails
     */
    public static void main(String[] order) throws Exception {
        List<Binding> bindings = new ArrayList<>();
        for (String group : order) {
            bindings.addAll(load(group));
        }
        Field fixedField = CallContext.class.getDeclaredField("fixedParamCount");
        fixedField.setAccessible(true);
        int wrong = 0;
        for (Binding b : bindings) {
            Map<String, List<Object>> generated = fieldsRead(GENERATED.get(b.instance().getClass().getName().replace('.', '/')));
            Map<String, List<Object>> defaults = fieldsRead(classBytes(b.api()));
            for (Method m : b.api().getMethods()) {
                if (Modifier.isStatic(m.getModifiers()) || !b.calledByPolyplex().test(m)) {
                    continue;
                }
                String key = m.getName() + Type.getMethodDescriptor(m);
                List<Object> reads = m.isDefault() ? defaults.get(key) : generated.get(key);
                List<CallContext> contexts = new ArrayList<>();
                for (Object value : reads == null ? List.of() : reads) {
                    Object resolved = value instanceof Ref r ? r.value(b.instance()) : value;
                    CallContext c = contextIn(resolved, 0);
                    if (c != null) {
                        contexts.add(c);
                    }
                }
                int params = m.getParameterCount();
                int expected = Math.min(params, io.polyplex.internal.VariadicBindings.VARIADIC.getOrDefault(m.getName(), params));
                String what = b.name() + "." + m.getName() + Type.getMethodDescriptor(m);
                if (contexts.isEmpty()) {
                    // No symbol here (kqueue and kevent on Linux): jnr-ffi binds a stub that throws.
                    System.out.println("ABSENT " + what);
                    continue;
                }
                for (CallContext c : contexts) {
                    int fixed = fixedField.getInt(c);
                    boolean ok = c.getParameterCount() == params && fixed == expected;
                    wrong += ok ? 0 : 1;
                    System.out.println((ok ? "OK " : "WRONG ") + what + " fixed=" + fixed + "/" + c.getParameterCount()
                            + " expected=" + expected + "/" + params + (m.isDefault() ? " (default method)" : ""));
                }
            }
        }
        System.out.flush();
        System.exit(wrong == 0 ? 0 : 1);
    }

    /** A field read by a generated method: resolved against the binding instance. */
    record Ref(String owner, String name) {
        Object value(Object instance) {
            try {
                Field f = instance.getClass().getDeclaredField(name);
                f.setAccessible(true);
                return f.get(instance);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * For each method of the class in {@code bytes}: the values of the fields it reads, instance
     * fields of the generated class as {@link Ref}s, static fields of other classes by value.
     */
    private static Map<String, List<Object>> fieldsRead(byte[] bytes) {
        Map<String, List<Object>> out = new LinkedHashMap<>();
        if (bytes == null) {
            return out;
        }
        new ClassReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
            private String self;

            @Override
            public void visit(int version, int access, String name, String signature, String superName, String[] interfaces) {
                self = name;
            }

            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                List<Object> reads = out.computeIfAbsent(name + descriptor, k -> new ArrayList<>());
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public void visitFieldInsn(int opcode, String owner, String field, String fieldDescriptor) {
                        if (opcode == Opcodes.GETFIELD && owner.equals(self)) {
                            reads.add(new Ref(owner, field));
                        } else if (opcode == Opcodes.GETSTATIC && !owner.equals(self)) {
                            try {
                                Field f = Class.forName(owner.replace('/', '.')).getDeclaredField(field);
                                f.setAccessible(true);
                                reads.add(f.get(null));
                            } catch (ReflectiveOperationException e) {
                                // not a field the probe can read: not a call context either
                            }
                        }
                    }
                };
            }
        }, ClassReader.SKIP_FRAMES);
        return out;
    }

    private static byte[] classBytes(Class<?> type) throws IOException {
        try (InputStream in = type.getClassLoader().getResourceAsStream(type.getName().replace('.', '/') + ".class")) {
            return in == null ? null : in.readAllBytes();
        }
    }

    /** The call context in {@code o}: itself, a jffi Function's, or one held (at most 3 fields deep) by an invoker. */
    private static CallContext contextIn(Object o, int depth) {
        if (o instanceof CallContext c) {
            return c;
        }
        if (o instanceof com.kenai.jffi.Function f) {
            return f.getCallContext();
        }
        if (o == null || depth > 3 || o.getClass().isArray() || o instanceof String || o instanceof Number) {
            return null;
        }
        String type = o.getClass().getName();
        if (!type.startsWith("jnr.ffi.provider") && !type.startsWith("io.polyplex.internal.VariadicFunction")) {
            return null;
        }
        Map<Class<?>, Boolean> seen = new HashMap<>();
        for (Class<?> k = o.getClass(); k != null && k != Object.class && seen.put(k, true) == null; k = k.getSuperclass()) {
            for (Field f : k.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                    CallContext c = contextIn(f.get(o), depth + 1);
                    if (c != null) {
                        return c;
                    }
                } catch (ReflectiveOperationException | RuntimeException e) {
                    // a field of a JDK type the probe may not open: no call context there
                }
            }
        }
        return null;
    }
}
