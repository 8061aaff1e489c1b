package io.polyplex.internal;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.Library;
import com.kenai.jffi.Type;
import java.lang.reflect.Constructor;

/**
 * A C function with a variadic tail ({@code int fcntl(int, int, ...)}), called through a jffi call
 * context made for it alone, never one from jffi's shared cache. The binding interfaces expose such
 * a function as a default method that calls this (jnr-ffi binds no default method:
 * {@code InterfaceScanner} skips them), so a test can still substitute the binding.
 *
 * <p>Why not jnr-ffi's {@code @Variadic}: jffi 1.4.3's {@code CallContextCache} keys a call context
 * by return type, parameter types, calling convention and errno saving ({@code
 * CallContextCache.Signature}), but not by the number of fixed parameters, while jffi's native
 * {@code newCallContext} ({@code CallContext.c}) prepares libffi's variadic call ({@code
 * ffi_prep_cif_var}) or a fixed one ({@code ffi_prep_cif}) from that number. The first binding of a
 * signature loaded in the process decides for all later ones: {@code int fcntl(int, int, int)} and
 * {@code int socket(int, int, int)} (ours, jnr-unixsocket's, and jnr-posix's {@code fchown}) share
 * one context, so one of them is called wrongly. On Apple arm64 a variadic argument goes on the
 * stack and a fixed one in a register, so either {@code fcntl(F_SETFL, O_NONBLOCK)} reads its flags
 * from stack garbage or {@code socket} its protocol from a stale register; x86-64 hides both. What
 * would let this class go: a jffi release whose cache key includes the fixed count (then {@code
 * CallContext.getCallContext(returnType, fixedCount, parameterTypes, convention, saveErrno)} is
 * exact).
 *
 * <p>The context is built with jffi's own constructor that takes the fixed count; it is not public,
 * so it is reached by reflection (jffi is an automatic module, which opens all its packages). If a
 * jffi release changes it, the shared cache is used instead (as exact as jnr-ffi's own binding
 * would be), and {@code CallContextTest} fails. Calls allocate nothing: {@link Invoker#invokeI3}
 * with the function's address, and jffi saves errno for {@code Runtime.getLastError()}.
 */
public final class VariadicFunction {

    /** fcntl(2): {@code int fcntl(int fd, int cmd, ...)}, called with one {@code int} argument. */
    public static final VariadicFunction FCNTL = new VariadicFunction("fcntl", 2, Type.SINT32,
            Type.SINT32, Type.SINT32, Type.SINT32);

    private final String name;
    private final long address;
    private final CallContext context;

    private VariadicFunction(String name, int fixedCount, Type returnType, Type... parameterTypes) {
        this.name = name;
        // The definition a C call to the name makes in this process (the global scope); for fcntl,
        // the C library's.
        this.address = Library.getDefault().getSymbolAddress(name);
        this.context = variadicContext(returnType, fixedCount, parameterTypes);
    }

    private static CallContext variadicContext(Type returnType, int fixedCount, Type[] parameterTypes) {
        try {
            Constructor<CallContext> exact = CallContext.class.getDeclaredConstructor(Type.class, int.class,
                    Type[].class, CallingConvention.class, boolean.class, boolean.class);
            exact.setAccessible(true);
            return exact.newInstance(returnType, fixedCount, parameterTypes, CallingConvention.DEFAULT, true, false);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.getLogger(VariadicFunction.class.getName()).log(System.Logger.Level.WARNING,
                    "jffi's CallContext constructor with a fixed-argument count is not reachable (" + e
                    + "): variadic calls use jffi's shared call-context cache, which ignores that count");
            return CallContext.getCallContext(returnType, fixedCount, parameterTypes, CallingConvention.DEFAULT, true);
        }
    }

    /**
     * Calls the function with two fixed {@code int} arguments and one variadic {@code int}.
     *
     * @param a the first fixed argument
     * @param b the second fixed argument
     * @param c the variadic argument
     * @return what the function returns; on -1, errno is what {@code Runtime.getLastError()} reads
     * @throws UnsatisfiedLinkError if this process has no such function
     */
    public int invoke(int a, int b, int c) {
        if (address == 0) {
            throw new UnsatisfiedLinkError("no C function " + name + " in this process");
        }
        return Invoker.getInstance().invokeI3(context, address, a, b, c);
    }

    /**
     * The call context every call goes through, for tests that check its fixed count.
     *
     * @return the context
     */
    public CallContext callContext() {
        return context;
    }
}
