package io.polyplex.kqueue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;
import jnr.ffi.Platform;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The conformance suite on the real kqueue, wherever kqueue exists: macOS, FreeBSD, OpenBSD and
 * DragonFly (the workflow's macOS and FreeBSD legs). There the backend must open: a refusal fails
 * the suite, it is not skipped.
 */
@EnabledIf(value = "kqueueExistsHere", disabledReason = "kqueue exists on macOS and the BSDs only")
class KqueueConformanceTest extends ConformanceSuite {

    static boolean kqueueExistsHere() {
        return switch (Platform.getNativePlatform().getOS()) {
            case DARWIN, FREEBSD, OPENBSD, DRAGONFLY -> true;
            default -> false;
        };
    }

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        return EventQueues.open("kqueue", fdOf);
    }
}
