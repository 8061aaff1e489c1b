package io.polyplex.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import jnr.enxio.channels.NativeSocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** send and recv straight from and into buffers: positions honoured, heap or direct, no data lost. */
class NativeSocketsIoTest {

    private static ByteBuffer buffer(boolean direct, int size) {
        return direct ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
    }

    @ParameterizedTest(name = "send from {0} buffer, recv into {1} buffer")
    @CsvSource({"heap,heap", "heap,direct", "direct,heap", "direct,direct"})
    void sendAndRecvUseTheBufferPositions(String from, String into) throws IOException {
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        try {
            ByteBuffer src = buffer(from.equals("direct"), 32);
            src.position(3);
            src.put("hello".getBytes(StandardCharsets.US_ASCII));
            src.flip().position(3);
            assertEquals(5, NativeSockets.send(pair[0].getFD(), src));
            assertEquals(8, src.position());

            ByteBuffer dst = buffer(into.equals("direct"), 32);
            dst.put("xxxxx".getBytes(StandardCharsets.US_ASCII)); // position 5: must not be overwritten
            assertEquals(5, NativeSockets.recv(pair[1].getFD(), dst));
            assertEquals(10, dst.position());
            byte[] all = new byte[10];
            dst.get(0, all);
            assertEquals("xxxxxhello", new String(all, StandardCharsets.US_ASCII));
        } finally {
            pair[0].close();
            pair[1].close();
        }
    }

    @Test
    void recvSaysNothingYetThenEndOfStream() throws IOException {
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        try {
            ByteBuffer dst = ByteBuffer.allocate(16);
            assertEquals(0, NativeSockets.recv(pair[1].getFD(), dst));
            pair[0].close();
            assertEquals(-1, NativeSockets.recv(pair[1].getFD(), dst));
            assertEquals(0, dst.position());
        } finally {
            pair[1].close();
        }
    }

    @Test
    void recvOnAClosedFdNamesTheCallAndTheFd() throws IOException {
        NativeSocketChannel[] pair = NativeSockets.socketPair();
        int fd = pair[1].getFD();
        pair[0].close();
        pair[1].close();
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
                () -> NativeSockets.recv(fd, ByteBuffer.allocate(4)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("recv(fd=" + fd) , e.getMessage());
    }
}
