package io.polyplex.conformance;

import io.polyplex.net.NativeSockets;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import jnr.enxio.channels.NativeSocketChannel;

/**
 * Takes fd numbers that were just closed, for tests that check that nothing writes into a closed
 * descriptor's number once another file owns it. The kernel hands out the lowest free numbers, so
 * socket pairs opened right after the close take them back; a socket pair is used because a stray
 * write into either of its ends shows up at the other. (Moving a file onto a number with dup2 would
 * be surer but can close a file another JVM thread opened there in the meantime.)
 */
public final class FdReuse {

    private FdReuse() {}

    /** Socket pairs opened until every one of {@code numbers} is an end of one, or 8 more than needed. */
    public static Reused take(Set<Integer> numbers) throws IOException {
        List<NativeSocketChannel[]> pairs = new ArrayList<>();
        Set<Integer> missing = new HashSet<>(numbers);
        for (int i = 0; i < numbers.size() + 8 && !missing.isEmpty(); i++) {
            NativeSocketChannel[] p = NativeSockets.socketPair();
            pairs.add(p);
            missing.remove(p[0].getFD());
            missing.remove(p[1].getFD());
        }
        Set<Integer> taken = new HashSet<>(numbers);
        taken.removeAll(missing);
        return new Reused(pairs, taken);
    }

    /** The pairs opened, and which of the numbers they took. The caller closes the pairs. */
    public record Reused(List<NativeSocketChannel[]> pairs, Set<Integer> taken) {
        /** Closes every pair. */
        public void close() throws IOException {
            for (NativeSocketChannel[] p : pairs) {
                p[0].close();
                p[1].close();
            }
        }
    }
}
