package io.polyplex.demo;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The example programs' command line: {@code --name value}, {@code --name=value} and {@code --flag}
 * options, {@code --help}, and the two ways a start can fail without a stack trace: a usage mistake
 * (one line on stderr, exit status {@value #USAGE}) and a server that cannot listen (one line, exit
 * status {@value #CANNOT_LISTEN}).
 */
final class Cli {

    /** Exit status of a command-line mistake (as getopt-based tools use). */
    static final int USAGE = 2;
    /** Exit status when the arguments are fine but the server cannot listen (port in use, ...). */
    static final int CANNOT_LISTEN = 1;

    /** One option; {@code value} is null for a flag, else the value's placeholder ("N", "PATH"). */
    record Option(String name, String value, String help, String defaultText) {}

    /** A mistake on the command line, said in one line. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private final String program;
    private final String synopsis;
    private final List<Option> options;
    private final Map<String, String> given = new HashMap<>();
    private boolean help;

    /**
     * The command line of {@code main}, named as the user started it ({@link #invokedAs}).
     *
     * @param main the class whose {@code main} runs
     */
    Cli(Class<?> main, List<Option> options) {
        this(invokedAs(main, System.getProperty("sun.java.command")), options);
    }

    /** @param invocation what {@link #invokedAs} says: the program's name, then its usage synopsis */
    Cli(String[] invocation, List<Option> options) {
        this.program = invocation[0];
        this.synopsis = invocation[1];
        this.options = List.copyOf(options);
    }

    /**
     * The program's name in error lines and the usage synopsis, as the user started it: the jar's
     * path as typed ({@code java -jar demo/target/polyplex-demo.jar}), the main class as typed
     * ({@code java -cp ... io.polyplex.demo.EchoServer}) or the module and class ({@code java -p ...
     * -m io.polyplex.demo/io.polyplex.demo.HttpServer}). It is read from {@code sun.java.command},
     * which the java launcher sets to the main class or jar and the arguments (the property jps and
     * jcmd show); where it is missing, the main class's name.
     *
     * @param javaCommand the value of {@code sun.java.command}, or null
     * @return the program's name and its synopsis
     */
    static String[] invokedAs(Class<?> main, String javaCommand) {
        String first = javaCommand == null || javaCommand.isBlank() ? "" : javaCommand.strip().split("\\s+")[0];
        if (first.endsWith(".jar")) {
            return new String[] {first, "java -jar " + first};
        }
        if (first.contains("/") && first.endsWith("/" + main.getName())) {
            return new String[] {first, "java -p ... -m " + first};
        }
        return new String[] {main.getName(), "java -cp ... " + main.getName()};
    }

    /** The program's name as its error lines give it. */
    String program() {
        return program;
    }

    /** Reads {@code args}; afterwards {@link #helpAsked()} or the getters say what was given. */
    Cli parse(String[] args) throws UsageException {
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--help") || arg.equals("-h")) {
                help = true;
                continue;
            }
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument \"" + arg + "\"" + hint());
            }
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg : arg.substring(0, eq);
            Option o = find(name);
            if (o == null) {
                throw new UsageException("unknown option " + name + hint());
            }
            String value;
            if (o.value() == null) {
                if (eq >= 0) {
                    throw new UsageException(name + " takes no value" + hint());
                }
                value = "";
            } else if (eq >= 0) {
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                value = args[++i];
            } else {
                throw new UsageException(name + " needs a value (" + name + " " + o.value() + ")" + hint());
            }
            given.put(name, value);
        }
        return this;
    }

    private String hint() {
        return "; --help lists the options";
    }

    private Option find(String name) {
        for (Option o : options) {
            if (o.name().equals(name)) {
                return o;
            }
        }
        return null;
    }

    boolean helpAsked() {
        return help;
    }

    boolean has(String name) {
        return given.containsKey(name);
    }

    String string(String name, String fallback) {
        return given.getOrDefault(name, fallback);
    }

    /** The integer value of {@code name} in [min, max], or {@code fallback} if not given. */
    long number(String name, long fallback, long min, long max) throws UsageException {
        String v = given.get(name);
        if (v == null) {
            return fallback;
        }
        long n;
        try {
            n = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(name + ": \"" + v + "\" is not a whole number" + hint());
        }
        if (n < min || n > max) {
            throw new UsageException(name + ": " + n + " is out of range (" + min + " to " + max + ")" + hint());
        }
        return n;
    }

    /** The usage text: the synopsis, then every option with its default. */
    String usage() {
        StringBuilder b = new StringBuilder("usage: ").append(synopsis).append(" [options]\n");
        int width = 0;
        for (Option o : options) {
            width = Math.max(width, column(o).length());
        }
        for (Option o : options) {
            String c = column(o);
            b.append("  ").append(c).append(" ".repeat(width - c.length() + 2)).append(o.help())
                    .append(" (default: ").append(o.defaultText()).append(")\n");
        }
        b.append("  ").append(String.format("%-" + width + "s", "--help")).append("  print this and exit\n");
        return b.toString();
    }

    private static String column(Option o) {
        return o.value() == null ? o.name() : o.name() + " " + o.value();
    }

    /** Prints {@code message} as one line on stderr, prefixed with the program's name, and exits. */
    void exit(int status, String message) {
        System.out.flush();
        System.err.println(program + ": " + (message == null ? "failed" : message.replace('\n', ' ')));
        System.err.flush();
        System.exit(status);
    }
}
