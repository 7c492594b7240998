package mocoref.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reads and writes safetensors files: an 8-byte little-endian header length N, N bytes of JSON
 * header, then the raw little-endian data of every tensor.
 */
public final class SafeTensors {
    /** Headers are names and shapes; the Rust library caps them at 100 MB too, and so avoids giant allocations. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private SafeTensors() {}

    /** Reads the whole file; any malformation is a one-line {@link SafeTensorsException} naming the file. */
    public static SafeTensorsFile read(Path path) {
        String where = path.toString();
        if (Files.isDirectory(path)) throw new SafeTensorsException(where + ": is a directory, not a safetensors file");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafeTensorsException(where + ": file is " + size
                        + " bytes, too short for the 8-byte header length; not a safetensors file");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lengthBytes, 0);
            long headerLength = lengthBytes.flip().getLong();
            // Unsigned on disk: a negative long is above 2^63 and so also beyond the file.
            if (headerLength < 0 || headerLength > size - 8) {
                throw new SafeTensorsException(where + ": header length " + Long.toUnsignedString(headerLength)
                        + " is beyond the file's remaining " + (size - 8)
                        + " bytes (truncated, or not a safetensors file)");
            }
            if (headerLength > MAX_HEADER_BYTES) {
                throw new SafeTensorsException(where + ": header length " + headerLength + " exceeds the "
                        + MAX_HEADER_BYTES + "-byte limit; not a safetensors file");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(ch, headerBytes, 8);
            long dataStart = 8 + headerLength;
            Header header = HeaderReader.parse(where, headerBytes.array(), size - dataStart);

            LinkedHashMap<String, StoredTensor> tensors = new LinkedHashMap<>();
            TensorData io = new TensorData();
            for (HeaderEntry e : header.entries()) {
                tensors.put(e.name(), io.read(ch, dataStart + e.begin(), e));
            }
            return new SafeTensorsFile(path, tensors, header.metadata());
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(where + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new SafeTensorsException(where + ": permission denied", e);
        } catch (IOException e) {
            throw new SafeTensorsException(where + ": cannot read: " + OneLine.of(String.valueOf(e.getMessage())), e);
        }
    }

    /**
     * Writes {@code tensors} (data packed in map order) and {@code metadata} (omitted when empty).
     * The file is written beside its target and renamed over it, so a crash leaves either the old
     * file or the complete new one, never a torn one. Parent directories are created.
     */
    public static void write(Path path, Map<String, StoredTensor> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        for (Map.Entry<String, StoredTensor> e : tensors.entrySet()) {
            Objects.requireNonNull(e.getKey(), "tensor name");
            Objects.requireNonNull(e.getValue(), "tensor '" + e.getKey() + "'");
            if (e.getKey().equals(HeaderReader.METADATA_KEY)) {
                throw new IllegalArgumentException("'" + HeaderReader.METADATA_KEY + "' is reserved, not a tensor name");
            }
        }
        metadata.forEach((k, v) -> Objects.requireNonNull(v, "metadata '" + k + "'"));
        byte[] header = HeaderWriter.encode(tensors, metadata);

        String where = path.toString();
        Path target = path.toAbsolutePath();
        Path temp = null;
        try {
            Files.createDirectories(target.getParent());
            temp = createTemp(target);
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
                TensorData.writeFully(ch, length.flip());
                TensorData.writeFully(ch, ByteBuffer.wrap(header));
                TensorData io = new TensorData();
                for (StoredTensor t : tensors.values()) io.write(ch, t);
                // The data must be on disk before the rename publishes it, or a crash could expose a torn file.
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temp = null;
        } catch (IOException e) {
            throw new SafeTensorsException(where + ": cannot write: " + OneLine.of(String.valueOf(e)), e);
        } finally {
            if (temp != null) deleteQuietly(temp);
        }
    }

    /**
     * A new empty file next to {@code target}. Not Files.createTempFile: that makes the file
     * owner-only (0600), and the rename would carry those permissions over to the result.
     */
    private static Path createTemp(Path target) throws IOException {
        while (true) {
            String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong());
            Path temp = target.resolveSibling("." + target.getFileName() + "." + suffix + ".tmp");
            try {
                return Files.createFile(temp);
            } catch (FileAlreadyExistsException taken) {
                // another writer picked the same name; draw again
            }
        }
    }

    private static void deleteQuietly(Path temp) {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // the write already failed; that error is the one to report
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new EOFException("file ended early (was it truncated while being read?)");
            pos += n;
        }
    }
}
