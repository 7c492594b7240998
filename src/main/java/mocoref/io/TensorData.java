package mocoref.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.security.MessageDigest;

/**
 * Moves one tensor's values between its Java array and a file, little-endian, through a reused
 * chunk buffer: a tensor may be larger than one ByteBuffer can address (2 GiB), and files are
 * larger still, so every position is a long and no buffer is sized by the tensor.
 */
final class TensorData {
    /** A multiple of 8, so that no element straddles two chunks. */
    static final int CHUNK_BYTES = 1 << 22;

    private final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);

    /** Receives one chunk of encoded bytes (between position and limit). */
    @FunctionalInterface
    interface ChunkSink {
        void accept(ByteBuffer chunk) throws IOException;
    }

    /**
     * Reads the tensor described by {@code e}, whose bytes start at absolute position {@code position},
     * feeding them to {@code digest} too when it is not null.
     */
    StoredTensor read(SeekableByteChannel ch, long position, HeaderEntry e, MessageDigest digest) throws IOException {
        Object data = switch (e.dtype()) {
            case F64 -> new double[e.numel()];
            case F32 -> new float[e.numel()];
            case I64 -> new long[e.numel()];
        };
        int bytes = e.dtype().bytes();
        ch.position(position);
        int done = 0;
        while (done < e.numel()) {
            int count = Math.min(e.numel() - done, CHUNK_BYTES / bytes);
            chunk.clear().limit(count * bytes);
            while (chunk.hasRemaining()) {
                if (ch.read(chunk) < 0) throw new EOFException("file ended inside tensor data (was it truncated while being read?)");
            }
            chunk.flip();
            if (digest != null) digest.update(chunk.duplicate());
            switch (e.dtype()) {
                case F64 -> chunk.asDoubleBuffer().get((double[]) data, done, count);
                case F32 -> chunk.asFloatBuffer().get((float[]) data, done, count);
                case I64 -> chunk.asLongBuffer().get((long[]) data, done, count);
            }
            done += count;
        }
        return new StoredTensor(e.dtype(), e.shape(), data);
    }

    /** Hands {@code t}'s values, little-endian, to {@code sink} a chunk at a time. */
    void encode(StoredTensor t, ChunkSink sink) throws IOException {
        int bytes = t.dtype().bytes();
        int numel = t.numel();
        Object data = t.data();
        int done = 0;
        while (done < numel) {
            int count = Math.min(numel - done, CHUNK_BYTES / bytes);
            chunk.clear();
            switch (t.dtype()) {
                case F64 -> chunk.asDoubleBuffer().put((double[]) data, done, count);
                case F32 -> chunk.asFloatBuffer().put((float[]) data, done, count);
                case I64 -> chunk.asLongBuffer().put((long[]) data, done, count);
            }
            chunk.limit(count * bytes);
            sink.accept(chunk);
            done += count;
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }
}
