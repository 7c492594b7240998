package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import mocoref.MocoRefException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-10/100 binary batches: layout, labels, the archive's inner folder, names files, grey conversion and each malformation. */
class CifarBinaryTest {
    @TempDir
    Path dir;

    @Test
    void cifar10ConcatenatesTheFiveBatchesInOrder() throws IOException {
        SyntheticData.writeCifar10(dir, 4, 3, 1);
        Dataset train = Datasets.load(dir, Split.TRAIN, 0, 0);
        assertEquals(Datasets.Format.CIFAR10, Datasets.detect(dir));
        assertEquals(20, train.n());
        assertEquals(3, train.channels());
        assertEquals(32, train.height());
        assertEquals(CifarBinary.CIFAR10_CLASSES, train.classes());
        // Record 1 of data_batch_2 is image 5: label 1, pixels right after its label byte, already planar.
        byte[] b2 = Files.readAllBytes(dir.resolve("data_batch_2.bin"));
        assertEquals(1, train.labels()[5]);
        for (int i = 0; i < 3072; i++) assertEquals((b2[3073 + 1 + i] & 0xFF) / 255f, train.images()[5 * 3072 + i]);
        assertEquals(3, Datasets.load(dir, Split.TEST, 0, 0).n());
    }

    @Test
    void greyIsPilLumaOfTheBytes() throws IOException {
        SyntheticData.writeCifar10(dir, 2, 2, 2);
        Dataset rgb = Datasets.load(dir, Split.TEST, 0, 3);
        Dataset grey = Datasets.load(dir, Split.TEST, 0, 1);
        assertEquals(1, grey.channels());
        for (int i = 0; i < 1024; i++) {
            int r = Math.round(rgb.images()[i] * 255);
            int g = Math.round(rgb.images()[1024 + i] * 255);
            int b = Math.round(rgb.images()[2048 + i] * 255);
            assertEquals(PilGrayscale.luma(r, g, b) / 255f, grey.images()[i]);
        }
    }

    @Test
    void cifar100UsesTheFineLabelAndItsNamesFile() throws IOException {
        Path inner = dir.resolve("cifar-100-binary");
        Files.createDirectories(inner);
        SplittableRandom rng = new SplittableRandom(3);
        Files.write(inner.resolve("train.bin"), SyntheticData.cifarRecords(150, true, rng));
        Files.write(inner.resolve("test.bin"), SyntheticData.cifarRecords(5, true, rng));
        StringBuilder names = new StringBuilder();
        for (int c = 0; c < 100; c++) names.append("class").append(c).append('\n');
        Files.writeString(inner.resolve("fine_label_names.txt"), names);
        assertEquals(Datasets.Format.CIFAR100, Datasets.detect(dir));
        Dataset train = Datasets.load(dir, Split.TRAIN, 16, 0);
        assertEquals(150, train.n());
        assertEquals(16, train.height());
        assertEquals(99, train.labels()[99]);
        assertEquals(20, train.labels()[120]);
        assertEquals("class42", train.classes().get(42));
        assertEquals(100, train.numClasses());
    }

    @Test
    void lengthNotAMultipleOfTheRecord() throws IOException {
        SyntheticData.writeCifar10(dir, 2, 2, 4);
        Path f = dir.resolve("data_batch_3.bin");
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length - 100));
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 0, 0)).getMessage();
        assertTrue(m.startsWith(f.toString()) && m.contains("length 6046 is not a positive multiple of the 3073-byte CIFAR-10 record"), m);
    }

    @Test
    void missingBatchAndBadLabel() throws IOException {
        SyntheticData.writeCifar10(dir, 2, 2, 5);
        Path test = dir.resolve("test_batch.bin");
        byte[] b = Files.readAllBytes(test);
        b[3073] = 10;
        Files.write(test, b);
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TEST, 0, 0)).getMessage();
        assertTrue(m.startsWith(test.toString()) && m.contains("record 1 has label 10, but CIFAR-10 has 10 classes"), m);

        Files.delete(dir.resolve("data_batch_4.bin"));
        m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TRAIN, 0, 0)).getMessage();
        assertTrue(m.contains("missing data_batch_4.bin (CIFAR-10 train split)"), m);
    }

    @Test
    void namesFileWithTheWrongCount() throws IOException {
        SyntheticData.writeCifar10(dir, 1, 1, 6);
        Files.write(dir.resolve("batches.meta.txt"), List.of("a", "b", ""));
        String m = assertThrows(MocoRefException.class, () -> Datasets.load(dir, Split.TEST, 0, 0)).getMessage();
        assertTrue(m.contains("batches.meta.txt: lists 2 class names, CIFAR-10 has 10"), m);
    }

    @Test
    void subsetIsBalanced() throws IOException {
        SyntheticData.writeCifar10(dir, 20, 2, 7);
        Dataset sub = Datasets.load(dir, Split.TRAIN, 0, 0, 30, 1);
        int[] perClass = new int[10];
        for (int l : sub.labels()) perClass[l]++;
        int[] three = new int[10];
        Arrays.fill(three, 3);
        assertArrayEquals(three, perClass);
    }
}
