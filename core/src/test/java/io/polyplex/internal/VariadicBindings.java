package io.polyplex.internal;

import com.sun.source.tree.AnnotationTree;
import com.sun.source.tree.AssignmentTree;
import com.sun.source.tree.ClassTree;
import com.sun.source.tree.CompilationUnitTree;
import com.sun.source.tree.ExpressionTree;
import com.sun.source.tree.IdentifierTree;
import com.sun.source.tree.ImportTree;
import com.sun.source.tree.LiteralTree;
import com.sun.source.tree.MemberSelectTree;
import com.sun.source.tree.MethodInvocationTree;
import com.sun.source.tree.MethodTree;
import com.sun.source.tree.Tree;
import com.sun.source.tree.VariableTree;
import com.sun.source.util.JavacTask;
import com.sun.source.util.SourcePositions;
import com.sun.source.util.TreeScanner;
import com.sun.source.util.Trees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * Finds jnr-ffi bindings of variadic C functions that jnr-ffi would call as fixed-arity ones. On
 * Apple's arm64 ABI a variadic argument travels on the stack while a fixed one travels in a
 * register, so {@code int fcntl(int, int, int)} hands {@code fcntl(fd, F_SETFL, ...)} garbage there
 * (Apple, "Writing ARM64 code for Apple platforms": arguments of a variadic function's variable part
 * go on the stack); Linux and the BSDs on x86-64 and arm64 pass both kinds alike, so no test that
 * calls the function here can see the mistake. jnr-ffi calls a function as variadic when its method
 * carries {@code @Variadic(fixedCount = N)} or ends in a Java varargs parameter.
 *
 * <p>The check reads source with javac's own parser (no class loading, so it covers every module's
 * main and test code alike). A binding interface is an interface named in {@code
 * LibraryLoader.create(X.class)} or {@code loadLibrary(X.class, ...)}, or declared in a file that
 * imports from {@code jnr.ffi}. Each of its methods whose name is a known variadic libc function must
 * declare it variadic with that function's number of fixed parameters, or be a default method:
 * jnr-ffi binds no default method ({@code InterfaceScanner} skips them), and Polyplex's variadic
 * calls are default methods that go through {@link VariadicFunction}, because even a correct
 * {@code @Variadic} gets whatever call context jffi's cache holds for the signature. What a default
 * method really calls through is checked at run time, against every binding of the process, by
 * integration-tests' {@code CallContextTest}; this scan only sees declarations.
 */
public final class VariadicBindings {

    /**
     * Variadic functions of libc (POSIX, glibc, the BSDs, macOS) a binding might name, with the
     * number of their fixed parameters, from their prototypes in the C headers.
     */
    public static final Map<String, Integer> VARIADIC = Map.ofEntries(
            Map.entry("fcntl", 2), Map.entry("fcntl64", 2), // <fcntl.h>: int fcntl(int, int, ...)
            Map.entry("ioctl", 2),                            // <sys/ioctl.h>: int ioctl(int, unsigned long, ...)
            Map.entry("open", 2), Map.entry("open64", 2),     // <fcntl.h>: int open(const char *, int, ...)
            Map.entry("openat", 3), Map.entry("openat64", 3), // int openat(int, const char *, int, ...)
            Map.entry("sem_open", 2),                         // <semaphore.h>
            Map.entry("mq_open", 2),                          // <mqueue.h>
            Map.entry("prctl", 1),                            // <sys/prctl.h> (Linux)
            Map.entry("ptrace", 1),                           // glibc's <sys/ptrace.h>
            Map.entry("syscall", 1),                          // <unistd.h>: long syscall(long, ...)
            Map.entry("printf", 1), Map.entry("fprintf", 2), Map.entry("dprintf", 2),
            Map.entry("sprintf", 2), Map.entry("snprintf", 3), Map.entry("asprintf", 2),
            Map.entry("scanf", 1), Map.entry("sscanf", 2), Map.entry("fscanf", 2),
            Map.entry("syslog", 2),
            Map.entry("execl", 2), Map.entry("execlp", 2), Map.entry("execle", 2));

    /** One binding method checked, and what is wrong with it ({@code problem} null if nothing). */
    record Finding(Path file, long line, String type, String method, String problem) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + type + "." + method + ": " + problem;
        }
    }

    /** Everything the scan saw: binding interfaces and each variadic-named method in them. */
    record Report(Set<String> bindingInterfaces, List<Finding> checked) {
        List<Finding> problems() {
            return checked.stream().filter(f -> f.problem() != null).toList();
        }
    }

    private VariadicBindings() {}

    /** Scans every {@code .java} file under {@code root}, leaving out build output and hidden dirs. */
    static Report scanTree(Path root) throws IOException {
        root = root.toAbsolutePath().normalize();
        Path top = root;
        List<Path> files;
        try (Stream<Path> walk = Files.walk(top)) {
            files = walk.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> {
                        for (Path part : top.relativize(p)) {
                            String s = part.toString();
                            if (s.equals("target") || s.startsWith(".")) {
                                return false;
                            }
                        }
                        return true;
                    })
                    .sorted()
                    .toList();
        }
        Report r = scan(files);
        List<Finding> relative = r.checked().stream().map(f -> new Finding(top.relativize(f.file().toAbsolutePath()),
                f.line(), f.type(), f.method(), f.problem())).toList();
        return new Report(r.bindingInterfaces(), relative);
    }

    /** Scans the given source files together (a binding may be loaded in another file). */
    static Report scan(List<Path> files) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("no system Java compiler: the scan needs a JDK, not a JRE");
        }
        try (StandardJavaFileManager fm = javac.getStandardFileManager(null, null, StandardCharsets.UTF_8)) {
            JavacTask task = (JavacTask) javac.getTask(null, fm, d -> { }, List.of("-proc:none"), null,
                    fm.getJavaFileObjectsFromPaths(files));
            List<CompilationUnitTree> units = new ArrayList<>();
            for (CompilationUnitTree cu : task.parse()) {
                units.add(cu);
            }
            SourcePositions positions = Trees.instance(task).getSourcePositions();
            Set<String> loaded = new HashSet<>();
            for (CompilationUnitTree cu : units) {
                new TreeScanner<Void, Void>() {
                    @Override
                    public Void visitMethodInvocation(MethodInvocationTree call, Void v) {
                        String name = methodName(call.getMethodSelect());
                        if ((name.equals("create") || name.equals("loadLibrary")) && !call.getArguments().isEmpty()
                                && call.getArguments().get(0) instanceof MemberSelectTree literal
                                && literal.getIdentifier().contentEquals("class")) {
                            loaded.add(lastName(literal.getExpression()));
                        }
                        return super.visitMethodInvocation(call, v);
                    }
                }.scan(cu, null);
            }
            Set<String> bindings = new HashSet<>();
            List<Finding> checked = new ArrayList<>();
            for (CompilationUnitTree cu : units) {
                boolean importsJnrFfi = cu.getImports().stream().map(ImportTree::getQualifiedIdentifier)
                        .map(Object::toString).anyMatch(s -> s.startsWith("jnr.ffi."));
                boolean importsVariadic = cu.getImports().stream().map(i -> i.getQualifiedIdentifier().toString())
                        .anyMatch(s -> s.equals("jnr.ffi.annotations.Variadic") || s.equals("jnr.ffi.annotations.*"));
                Path file = Path.of(cu.getSourceFile().toUri());
                String text = cu.getSourceFile().getCharContent(true).toString();
                new TreeScanner<Void, Void>() {
                    @Override
                    public Void visitClass(ClassTree type, Void v) {
                        String name = type.getSimpleName().toString();
                        if (type.getKind() == Tree.Kind.INTERFACE && (importsJnrFfi || loaded.contains(name))) {
                            bindings.add(name);
                            for (Tree member : type.getMembers()) {
                                if (member instanceof MethodTree m && VARIADIC.containsKey(m.getName().toString())) {
                                    long line = cu.getLineMap().getLineNumber(positions.getStartPosition(cu, m));
                                    checked.add(new Finding(file, line, name, m.getName().toString(),
                                            problem(m, importsVariadic, text, cu, positions)));
                                }
                            }
                        }
                        return super.visitClass(type, v);
                    }
                }.scan(cu, null);
            }
            return new Report(bindings, checked);
        }
    }

    /** Null if {@code m} is bound as variadic with the right number of fixed parameters. */
    private static String problem(MethodTree m, boolean importsVariadic, String text, CompilationUnitTree cu,
                                  SourcePositions positions) {
        int fixed = VARIADIC.get(m.getName().toString());
        if (m.getModifiers().getFlags().contains(javax.lang.model.element.Modifier.DEFAULT)) {
            return null; // not bound by jnr-ffi: see the class comment
        }
        List<? extends VariableTree> params = m.getParameters();
        if (!params.isEmpty()) {
            VariableTree last = params.get(params.size() - 1);
            String source = text.substring((int) positions.getStartPosition(cu, last),
                    (int) positions.getEndPosition(cu, last));
            if (source.contains("...")) {
                return params.size() - 1 == fixed ? null
                        : "Java varargs after " + (params.size() - 1) + " parameters, but the C function has "
                                + fixed + " fixed ones";
            }
        }
        for (AnnotationTree a : m.getModifiers().getAnnotations()) {
            String type = a.getAnnotationType().toString();
            if (!type.equals("jnr.ffi.annotations.Variadic") && !(type.equals("Variadic") && importsVariadic)) {
                continue;
            }
            for (ExpressionTree arg : a.getArguments()) {
                if (arg instanceof AssignmentTree set && set.getVariable().toString().equals("fixedCount")
                        && set.getExpression() instanceof LiteralTree lit && lit.getValue() instanceof Integer n) {
                    return n == fixed ? null
                            : "@Variadic(fixedCount = " + n + ") but the C function has " + fixed + " fixed parameters";
                }
            }
            return "@Variadic without a literal fixedCount (the C function has " + fixed + " fixed parameters)";
        }
        return "binds a variadic C function as fixed-arity: add @Variadic(fixedCount = " + fixed
                + ") (wrong on Apple arm64, where variadic arguments go on the stack)";
    }

    private static String methodName(ExpressionTree select) {
        if (select instanceof MemberSelectTree s) {
            return s.getIdentifier().toString();
        }
        return select instanceof IdentifierTree id ? id.getName().toString() : "";
    }

    private static String lastName(ExpressionTree type) {
        if (type instanceof MemberSelectTree s) {
            return s.getIdentifier().toString();
        }
        return type.toString();
    }

    /** The project's top directory: the nearest ancestor of the module whose pom is the parent's. */
    static Path projectRoot() {
        Path dir = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path pom = d.resolve("pom.xml");
            try {
                if (Files.isRegularFile(pom)
                        && Files.readString(pom).contains("<artifactId>polyplex-parent</artifactId>")
                        && Files.readString(pom).contains("<modules>")) {
                    return d;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new IllegalStateException("no polyplex-parent pom above " + dir);
    }
}
