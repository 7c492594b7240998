package mocoref.io;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Reads and writes safetensors files: an 8-byte little-endian header length N, N bytes of JSON
 * header, then the raw little-endian data of every tensor.
 */
public final class SafeTensors {
    /** Headers are names and shapes; the Rust library caps them at 100 MB too, and so avoids giant allocations. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** The metadata key of the data section's SHA-256 (lower-case hex), written on request and checked whenever present. */
    public static final String DATA_SHA256 = "data_sha256";

    private SafeTensors() {}

    /** Reads the whole file; any malformation is a one-line {@link SafeTensorsException} naming the file. */
    public static SafeTensorsFile read(Path path) {
        String where = path.toString();
        if (Files.isDirectory(path)) throw new SafeTensorsException(where + ": is a directory, not a safetensors file");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return read(path, ch);
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(where + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new SafeTensorsException(where + ": permission denied", e);
        } catch (IOException e) {
            throw new SafeTensorsException(where + ": cannot read: " + OneLine.of(String.valueOf(e.getMessage())), e);
        }
    }

    /** The file {@code path} as {@code ch} holds it: a file, or bytes in memory (the fuzz tests). */
    static SafeTensorsFile read(Path path, SeekableByteChannel ch) throws IOException {
        String where = path.toString();
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

        String checksum = header.metadata().get(DATA_SHA256);
        MessageDigest digest = checksum == null ? null : sha256();
        LinkedHashMap<String, StoredTensor> tensors = new LinkedHashMap<>();
        TensorData io = new TensorData();
        // Entries come in data order and cover the data exactly, so the digest sees the bytes in file order.
        for (HeaderEntry e : header.entries()) {
            tensors.put(e.name(), io.read(ch, dataStart + e.begin(), e, digest));
        }
        if (digest != null && !hex(digest.digest()).equals(checksum)) {
            throw new SafeTensorsException(where + ": its tensor data does not match the " + DATA_SHA256
                    + " its header records (the file is corrupt, or was changed after it was written)");
        }
        return new SafeTensorsFile(path, tensors, header.metadata());
    }

    /**
     * Writes {@code tensors} (data packed in map order) and {@code metadata} (omitted when empty).
     * The file is written beside its target and renamed over it ({@link AtomicFiles}), so a crash
     * leaves either the old file or the complete new one, never a torn one. Parent directories are created.
     */
    public static void write(Path path, Map<String, StoredTensor> tensors, Map<String, String> metadata) {
        write(path, tensors, metadata, false);
    }

    /**
     * As {@link #write(Path, Map, Map)}; with {@code checksum}, the metadata also records
     * {@value #DATA_SHA256}, the SHA-256 of the data section, which {@link #read} then checks, so that
     * a file damaged after it was written is refused rather than trained on.
     */
    public static void write(Path path, Map<String, StoredTensor> tensors, Map<String, String> metadata, boolean checksum) {
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
        TensorData io = new TensorData();
        try {
            byte[] header = HeaderWriter.encode(tensors, checksum ? withChecksum(io, tensors, metadata) : metadata);
            AtomicFiles.write(path, ch -> {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
                TensorData.writeFully(ch, length.flip());
                TensorData.writeFully(ch, ByteBuffer.wrap(header));
                for (StoredTensor t : tensors.values()) io.encode(t, chunk -> TensorData.writeFully(ch, chunk));
            });
        } catch (IOException e) {
            throw new SafeTensorsException(path + ": cannot write: " + OneLine.of(String.valueOf(e)), e);
        }
    }

    /** {@code metadata} and the SHA-256 of the data section the tensors will make. */
    private static Map<String, String> withChecksum(TensorData io, Map<String, StoredTensor> tensors, Map<String, String> metadata)
            throws IOException {
        MessageDigest digest = sha256();
        for (StoredTensor t : tensors.values()) io.encode(t, digest::update);
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put(DATA_SHA256, hex(digest.digest()));
        return meta;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    private static void readFully(SeekableByteChannel ch, ByteBuffer buf, long position) throws IOException {
        ch.position(position);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) throw new EOFException("file ended early (was it truncated while being read?)");
        }
    }
}
