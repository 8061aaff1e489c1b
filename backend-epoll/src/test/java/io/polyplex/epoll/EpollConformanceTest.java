package io.polyplex.epoll;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The conformance suite on the real epoll backend: on Linux, where it must open (a refusal fails). */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll exists on Linux only")
class EpollConformanceTest extends ConformanceSuite {

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        return EventQueues.open("epoll", fdOf);
    }
}
