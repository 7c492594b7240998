package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import mocoref.MocoRefException;
import mocoref.testing.Resources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MNIST-style IDX loading on small synthetic files, each malformation's message, and the real Fashion-MNIST (required under CI=true). */
class IdxFilesTest {
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path dir;

    @Test
    void loadsRawAndGzipIdenticallyAsUnsignedBytes() throws IOException {
        Path raw = dir.resolve("raw");
        Path gz = dir.resolve("gz");
        SyntheticData.writeIdx(raw, 30, 12, 5, 7, false, 1);
        SyntheticData.writeIdx(gz, 30, 12, 5, 7, true, 1);
        Dataset a = Datasets.load(raw, Split.TRAIN, 0, 0);
        Dataset b = Datasets.load(gz, Split.TRAIN, 0, 0);
        assertEquals(30, a.n());
        assertEquals(1, a.channels());
        assertEquals(5, a.height());
        assertEquals(7, a.width());
        assertArrayEquals(a.images(), b.images());
        assertArrayEquals(a.labels(), b.labels());

        byte[] file = Files.readAllBytes(raw.resolve("train-images-idx3-ubyte"));
        for (int i = 0; i < a.images().length; i++) assertEquals((file[16 + i] & 0xFF) / 255f, a.images()[i]);
        assertEquals(3, a.labels()[13]);
        assertEquals(12, Datasets.load(raw, Split.TEST, 0, 0).n());
        assertEquals(10, a.numClasses());
        assertEquals("0", a.classes().get(0));
    }

    @Test
    void convertsToThreeChannelsAndResizes() throws IOException {
        SyntheticData.writeIdx(dir, 10, 10, 6, 6, false, 2);
        Dataset one = Datasets.load(dir, Split.TRAIN, 0, 1);
        Dataset rgb = Datasets.load(dir, Split.TRAIN, 0, 3);
        assertEquals(3, rgb.channels());
        for (int c = 0; c < 3; c++) {
            assertArrayEquals(Arrays.copyOfRange(one.images(), 0, 36), Arrays.copyOfRange(rgb.images(), c * 36, c * 36 + 36));
        }
        Dataset big = Datasets.load(dir, Split.TRAIN, 9, 1);
        assertEquals(9, big.height());
        assertEquals(9, big.width());
        assertEquals(10 * 81, big.images().length);
    }

    @Test
    void fashionDirectoryGetsFashionClassNames() throws IOException {
        Path fashion = dir.resolve("my-fashion-mnist");
        SyntheticData.writeIdx(fashion, 10, 10, 4, 4, true, 3);
        assertEquals("Ankle boot", Datasets.load(fashion, Split.TRAIN, 0, 0).classes().get(9));
    }

    @Test
    void badMagicNamesTheFile() throws IOException {
        SyntheticData.writeIdx(dir, 10, 10, 4, 4, false, 4);
        Path labels = dir.resolve("train-labels-idx1-ubyte");
        Path images = dir.resolve("train-images-idx3-ubyte");
        Files.copy(labels, images, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        String m = error(Split.TRAIN);
        assertTrue(m.startsWith(images.toString()) && m.contains("bad magic number 0x00000801, expected 0x00000803"), m);
    }

    @Test
    void truncatedImagesNameTheFile() throws IOException {
        SyntheticData.writeIdx(dir, 10, 10, 4, 4, false, 5);
        Path images = dir.resolve("t10k-images-idx3-ubyte");
        byte[] b = Files.readAllBytes(images);
        Files.write(images, Arrays.copyOf(b, b.length - 3));
        String m = error(Split.TEST);
        assertTrue(m.startsWith(images.toString()) && m.contains("truncated: 10 images of 4x4 need 176 bytes, the file has 173"), m);
    }

    @Test
    void trailingBytesAreAnError() throws IOException {
        SyntheticData.writeIdx(dir, 10, 10, 4, 4, false, 6);
        Path labels = dir.resolve("train-labels-idx1-ubyte");
        byte[] b = Files.readAllBytes(labels);
        Files.write(labels, Arrays.copyOf(b, b.length + 2));
        String m = error(Split.TRAIN);
        assertTrue(m.startsWith(labels.toString()) && m.contains("2 unexpected bytes after the 10 labels"), m);
    }

    @Test
    void countMismatchNamesBothFiles() throws IOException {
        SyntheticData.writeIdx(dir, 10, 10, 4, 4, false, 7);
        Files.write(dir.resolve("train-labels-idx1-ubyte"), SyntheticData.idxLabels(SyntheticData.cyclicLabels(9, 10)));
        String m = error(Split.TRAIN);
        assertTrue(m.contains("train-labels-idx1-ubyte: holds 9 labels but train-images-idx3-ubyte holds 10 images"), m);
    }

    @Test
    void truncatedHeaderAndCorruptGzip() throws IOException {
        SyntheticData.writeIdx(dir, 10, 10, 4, 4, true, 8);
        Path images = dir.resolve("train-images-idx3-ubyte.gz");
        byte[] gz = Files.readAllBytes(images);
        Files.write(images, Arrays.copyOf(gz, gz.length / 2));
        String m = error(Split.TRAIN);
        assertTrue(m.startsWith(images.toString()) && m.contains("corrupt or truncated gzip data"), m);

        Files.write(images, SyntheticData.gzip(ByteBuffer.allocate(8).putInt(0x803).putInt(10).array()));
        m = error(Split.TRAIN);
        assertTrue(m.startsWith(images.toString()) && m.contains("too short for its 16-byte header"), m);
    }

    @Test
    void missingLabelsFileIsNamed() throws IOException {
        SyntheticData.writeIdx(dir, 10, 10, 4, 4, false, 9);
        Files.delete(dir.resolve("t10k-labels-idx1-ubyte"));
        String m = error(Split.TEST);
        assertTrue(m.contains("no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz"), m);
    }

    /**
     * The real Fashion-MNIST as Debian installs it (skipped where it is not installed, failing under
     * CI=true). The expected values were read from the same files by Python's gzip and struct modules,
     * not by this loader: labels, pixel bytes at known places and byte sums, which a wrong offset,
     * byte order or split would change.
     */
    @Test
    void fashionMnistFromDebian() {
        Resources.require(Files.isRegularFile(FASHION.resolve("t10k-images-idx3-ubyte.gz"))
                && Files.isRegularFile(FASHION.resolve("train-images-idx3-ubyte.gz")),
                "Fashion-MNIST in " + FASHION + " (apt-get install dataset-fashion-mnist)");
        Dataset test = Datasets.load(FASHION, Split.TEST, 0, 0);
        assertEquals(10_000, test.n());
        assertEquals(1, test.channels());
        assertEquals(28, test.height());
        assertEquals(28, test.width());
        assertEquals(IdxFiles.FASHION_CLASSES, test.classes());
        assertArrayEquals(new int[] {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, Arrays.copyOf(test.labels(), 10));
        assertEquals(5, test.labels()[9999]);
        assertArrayEquals(new int[] {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, perClass(test));
        assertArrayEquals(new int[] {0, 0, 98, 136, 110, 109, 110, 162}, row14(test, 0)); // image 0, row 14, columns 10-17
        assertArrayEquals(new int[] {69, 128, 100, 120, 132, 123, 135, 171}, row14(test, 9999));
        assertEquals(33456, byteSum(test, 0, 1));
        assertEquals(24390, byteSum(test, 9999, 1));
        assertEquals(573_469_082L, byteSum(test, 0, test.n()));

        Dataset train = Datasets.load(FASHION, Split.TRAIN, 0, 0);
        assertEquals(60_000, train.n());
        assertArrayEquals(new int[] {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, Arrays.copyOf(train.labels(), 10));
        assertEquals(5, train.labels()[59_999]);
        assertArrayEquals(new int[] {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000}, perClass(train));
        assertArrayEquals(new int[] {0, 0, 237, 226, 217, 223, 222, 219}, row14(train, 0));
        assertEquals(76247, byteSum(train, 0, 1));
        assertEquals(16684, byteSum(train, 59_999, 1));
        assertEquals(3_431_114_169L, byteSum(train, 0, train.n()));

        Dataset subset = Datasets.load(FASHION, Split.TEST, 0, 0, 100, 7);
        assertEquals(100, subset.n());
        assertArrayEquals(new int[] {10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, perClass(subset));
    }

    private static int[] perClass(Dataset d) {
        int[] counts = new int[d.numClasses()];
        for (int l : d.labels()) counts[l]++;
        return counts;
    }

    /** Pixels of row 14, columns 10 to 17 of image {@code i}, as the file's bytes (the loader stores byte / 255). */
    private static int[] row14(Dataset d, int i) {
        int[] out = new int[8];
        for (int c = 0; c < 8; c++) out[c] = Math.round(d.images()[i * 784 + 14 * 28 + 10 + c] * 255);
        return out;
    }

    /** The sum of the bytes of images {@code first .. first+count-1}. */
    private static long byteSum(Dataset d, int first, int count) {
        long sum = 0;
        for (int i = first * 784; i < (first + count) * 784; i++) sum += Math.round(d.images()[i] * 255);
        return sum;
    }

    private String error(Split split) {
        return assertThrows(MocoRefException.class, () -> Datasets.load(dir, split, 0, 0)).getMessage();
    }
}
