package io.polyplex.select;

import io.polyplex.EventQueue;
import io.polyplex.EventQueues;
import io.polyplex.conformance.ConformanceSuite;
import java.io.IOException;
import java.util.function.ToIntFunction;

/** The conformance suite on the select(2) backend. */
class SelectConformanceTest extends ConformanceSuite {

    @Override
    protected <S> EventQueue<S> open(ToIntFunction<? super S> fdOf) throws IOException {
        return EventQueues.open("select", fdOf);
    }
}
