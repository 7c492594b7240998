package mocoref.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import mocoref.MocoRefException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacing a file never tears it: a write that fails half way (a full disk, simulated by a body
 * that throws after writing some bytes) leaves the old file byte for byte and no temporary file;
 * and a file whose data changed after it was written is refused by its checksum.
 */
class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void aWriteThatFailsHalfWayLeavesTheOldFileAndNoTemporary() throws IOException {
        Path target = dir.resolve("checkpoint.safetensors");
        SafeTensors.write(target, Map.of("w", StoredTensor.f32(new float[] {1, 2, 3}, 3)), Map.of("epoch", "1"), true);
        byte[] before = Files.readAllBytes(target);
        IOException full = assertThrows(IOException.class, () -> AtomicFiles.write(target, ch -> {
            ch.write(ByteBuffer.wrap(new byte[1000]));
            throw new IOException("No space left on device");
        }));
        assertEquals("No space left on device", full.getMessage());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(target)), "the old file changed");
        assertEquals(List.of(target), list());
        assertEquals("1", SafeTensors.read(target).metadata().get("epoch"));
    }

    @Test
    void aFailedWriteIsAOneLineErrorNamingTheFile() throws IOException {
        Path parentIsAFile = dir.resolve("file");
        Files.writeString(parentIsAFile, "x");
        Path target = parentIsAFile.resolve("out.safetensors");
        MocoRefException e = assertThrows(MocoRefException.class, () -> SafeTensors.write(target, Map.of(), Map.of(), true));
        assertTrue(e.getMessage().startsWith(target + ": cannot write: "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertThrows(MocoRefException.class, () -> AtomicFiles.writeString(target, "text"));
    }

    @Test
    void aChangedByteInTheDataIsCaughtByTheChecksum() throws IOException {
        Path p = dir.resolve("c.safetensors");
        SafeTensors.write(p, Map.of("a", StoredTensor.f64(new double[] {1, 2}, 2), "b", StoredTensor.i64(new long[] {7}, 1)),
                Map.of("k", "v"), true);
        assertTrue(SafeTensors.read(p).metadata().get(SafeTensors.DATA_SHA256).matches("[0-9a-f]{64}"));
        long size = Files.size(p);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(size - 3); // inside the data of the last tensor: the header still parses
            int b = f.read();
            f.seek(size - 3);
            f.write(b ^ 0x10);
        }
        MocoRefException e = assertThrows(MocoRefException.class, () -> SafeTensors.read(p));
        assertEquals(p + ": its tensor data does not match the data_sha256 its header records (the file is corrupt, or was"
                + " changed after it was written)", e.getMessage());
    }

    @Test
    void filesWithoutAChecksumStillRead() {
        Path p = dir.resolve("plain.safetensors");
        SafeTensors.write(p, Map.of("a", StoredTensor.f32(new float[] {1}, 1)), Map.of());
        assertTrue(SafeTensors.read(p).metadata().isEmpty());
    }

    @Test
    void leftoversAreRecognizedByName() {
        assertTrue(AtomicFiles.isLeftover(Path.of(".checkpoint_last.safetensors.3f9a0c1d2e4b5a69.tmp")));
        assertTrue(!AtomicFiles.isLeftover(Path.of("checkpoint_last.safetensors")));
        assertTrue(!AtomicFiles.isLeftover(Path.of(".hidden.tmp")));
    }

    private List<Path> list() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
