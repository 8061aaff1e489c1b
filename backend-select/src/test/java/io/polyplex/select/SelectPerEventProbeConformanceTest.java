package io.polyplex.select;

import io.polyplex.EventQueue;
import io.polyplex.conformance.ModelCheckContract;
import io.polyplex.conformance.PeerClosedContract;
import io.polyplex.conformance.ScaleContract;
import io.polyplex.conformance.StaleFdContract;
import io.polyplex.conformance.UnixSocketContract;
import io.polyplex.internal.LibC;
import io.polyplex.internal.PollerEventQueue;
import java.io.IOException;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Nested;

/**
 * The contracts that the peer-closed probe answers for, on the select backend with core forced onto
 * the per-event probe (recv with MSG_PEEK for each readable event), as on every system whose poll(2)
 * has no POLLRDHUP. On Linux {@link SelectConformanceTest} runs the batched probe (one poll(2) per
 * wait), so without this class the fallback would run nowhere CI runs. The peer-close and reset
 * reports, AF_UNIX sockets, a reused fd, no allocation per poll, and the randomized model check.
 */
class SelectPerEventProbeConformanceTest {

    static <S> EventQueue<S> openPerEvent(ToIntFunction<? super S> fdOf) throws IOException {
        return new PollerEventQueue<>(new SelectProvider(), fdOf, 1024, LibC.INSTANCE, 0);
    }

    @Nested
    class PeerClosed extends PeerClosedContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return openPerEvent(fdOf);
        }
    }

    @Nested
    class UnixSockets extends UnixSocketContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return openPerEvent(fdOf);
        }
    }

    @Nested
    class StaleFd extends StaleFdContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return openPerEvent(fdOf);
        }
    }

    @Nested
    class Scale extends ScaleContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return openPerEvent(fdOf);
        }
    }

    @Nested
    class ModelCheck extends ModelCheckContract {
        @Override
        protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
            return openPerEvent(fdOf);
        }
    }
}
