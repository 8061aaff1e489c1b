package io.polyplex.testing;

import java.lang.reflect.Method;
import jnr.ffi.Platform;

/**
 * jnr-ffi's own {@link Platform} object for another OS, as jnr-ffi builds it when it runs there
 * ({@code Platform.determinePlatform(OS)}, private, reached by reflection): the lowest seam for what
 * jnr-ffi would tell Polyplex on that system (its OS, its standard C library name), so a Linux test
 * runs Polyplex's decisions with another system's inputs instead of handing them the answer.
 */
public final class JnrPlatforms {

    private JnrPlatforms() {}

    /**
     * The platform jnr-ffi would create on {@code os}.
     *
     * @param os the system
     * @return jnr-ffi's platform object for it (CPU and sizes are this machine's)
     */
    public static Platform of(Platform.OS os) {
        try {
            Method determine = Platform.class.getDeclaredMethod("determinePlatform", Platform.OS.class);
            determine.setAccessible(true);
            return (Platform) determine.invoke(null, os);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("jnr-ffi no longer has Platform.determinePlatform(OS): update this seam", e);
        }
    }
}
