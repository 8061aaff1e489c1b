package io.polyplex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/**
 * The decision recorded in {@link SocketEventHandler#onEvent}'s Javadoc: a handler declares no
 * checked exception, so one connection's I/O error cannot leave {@code poll} on the easy path and end
 * the loop for every other connection. Changing the signature must be a decision, not a slip.
 */
class SocketEventHandlerTest {

    @Test
    void onEventDeclaresNoCheckedException() throws Exception {
        assertArrayEquals(new Class<?>[0],
                SocketEventHandler.class.getMethod("onEvent", Object.class, int.class).getExceptionTypes(),
                "see SocketEventHandler.onEvent's Javadoc for why it throws no IOException");
    }
}
