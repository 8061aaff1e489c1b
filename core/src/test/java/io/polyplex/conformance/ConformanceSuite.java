package io.polyplex.conformance;

import io.polyplex.EventQueue;
import java.io.IOException;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Nested;

/**
 * The whole conformance suite. A backend module runs it unchanged by extending this class and
 * implementing {@link #open}; every contract is a {@link Nested} class that opens its queues
 * through that one hook. A contract's tests adapt only to what the queue announces in {@code
 * capabilities()}, never to the backend's name. The subclass says where it runs with a JUnit
 * condition (epoll: Linux; kqueue: macOS and the BSDs); where it runs, a backend that refuses to
 * open fails every test.
 */
public abstract class ConformanceSuite {

    /** Opens a queue on the backend under test. */
    protected abstract <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException;

    /** See {@link ContractBase#kernelIsJavaCode()}. */
    protected boolean kernelIsJavaCode() {
        return false;
    }

    @Nested
    class Wakeup extends WakeupContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class Close extends CloseContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class Interest extends InterestContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class CrossThread extends CrossThreadContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class PeerClosed extends PeerClosedContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class Parking extends ParkingContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class ParkingRules extends ParkingRulesContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class BlockingSockets extends BlockingSocketsContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class UnixSockets extends UnixSocketContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class StaleFd extends StaleFdContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class Errors extends ErrorContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class TriggerModes extends TriggerModeContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class Scale extends ScaleContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }

        @Override
        protected boolean kernelIsJavaCode() {
            return ConformanceSuite.this.kernelIsJavaCode();
        }
    }

    @Nested
    class Timeouts extends TimeoutContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class Handlers extends HandlerContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class FdLeaks extends FdLeakContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }

    @Nested
    class ModelCheck extends ModelCheckContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return ConformanceSuite.this.open(fdOf);
        }
    }
}
