package io.polyplex.kqueue;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The conformance suite on the kqueue backend over the emulated kernel in FreeBSD's flavour, with the
 * 32-byte {@code struct kevent}: a FreeBSD 11 libc (a jail with an old userland on a newer kernel),
 * and the layout OpenBSD and DragonFly use with FreeBSD's rules where XNU's differ (EV_DELETE of a
 * closed fd is EBADF there too).
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "the emulated kqueue kernel runs on Linux's poll and epoll")
class EmulatedFreeBsd32ConformanceTest extends ConformanceSuite {

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        EmulatedKqueue kernel = new EmulatedKqueue(KeventLayout.KEVENT32, EmulatedKqueue.Flavour.FREEBSD);
        return EventQueues.open(new KqueueProvider(kernel, KeventLayout.KEVENT32, kernel::lastError), fdOf);
    }

    @Override
    protected boolean kernelIsJavaCode() {
        return true;
    }
}
