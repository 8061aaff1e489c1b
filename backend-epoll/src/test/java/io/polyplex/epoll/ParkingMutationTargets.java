package io.polyplex.epoll;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.BlockingSocketsContract;
import io.polyplex.conformance.ParkingContract;
import io.polyplex.conformance.ParkingRulesContract;
import java.io.IOException;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Nested;

/**
 * The tests that mutation testing runs against {@code ParkingPoller} and {@code BlockingSockets}
 * (README, "Mutation testing"): the conformance contracts that exercise them, on epoll, the one
 * backend with virtual pollers (JDK 21+). Not a surefire test (its name does not end in
 * {@code Test}): {@link EpollConformanceTest} runs the same contracts in every build.
 */
class ParkingMutationTargets {

    static <S> EventQueue<S> epoll(ToIntFunction<? super S> fdOf) throws IOException {
        return EventQueues.open("epoll", fdOf);
    }

    @Nested
    class ParkingRules extends ParkingRulesContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return epoll(fdOf);
        }
    }

    @Nested
    class Parking extends ParkingContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return epoll(fdOf);
        }
    }

    @Nested
    class BlockingSockets extends BlockingSocketsContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return epoll(fdOf);
        }
    }
}
