package io.polyplex.kqueue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Platform;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * An independent check, run by hand: the conformance suite on the kqueue backend over libkqueue (a
 * userspace kqueue for Linux that nobody here wrote), when {@code -Dpolyplex.libkqueue=} names its
 * shared library. It is not a reference for the kernels (it differs from them in places: see the
 * README), but where it agrees with FreeBSD and XNU it checks the backend against another reading
 * of kqueue(2) than this project's emulation. Not run in CI: libkqueue is no package here.
 */
@EnabledIfSystemProperty(named = "polyplex.libkqueue", matches = ".+",
        disabledReason = "-Dpolyplex.libkqueue=<path to libkqueue.so> runs it")
class LibkqueueConformanceTest extends ConformanceSuite {

    private static final KqueueLibrary LIBKQUEUE = LibraryLoader.create(KqueueLibrary.class)
            .library(System.getProperty("polyplex.libkqueue", "kqueue"))
            .library(Platform.getNativePlatform().getStandardCLibraryName())
            .load();

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        Runtime rt = Runtime.getRuntime(LIBKQUEUE);
        return EventQueues.open(new KqueueProvider(LIBKQUEUE, KeventLayout.KEVENT32, rt::getLastError), fdOf);
    }
}
