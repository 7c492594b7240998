package mocoref.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import mocoref.data.augment.Image;

/** Small dataset files for tests, made from a seed: IDX, CIFAR binary batches, image folders. */
public final class SyntheticData {
    private SyntheticData() {}

    /** An IDX images file's bytes: magic 0x803, n, rows, cols, then the pixels. */
    static byte[] idxImages(byte[] pixels, int n, int rows, int cols) {
        ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);
        b.putInt(0x803).putInt(n).putInt(rows).putInt(cols).put(pixels);
        return b.array();
    }

    /** An IDX labels file's bytes: magic 0x801, n, then the labels. */
    static byte[] idxLabels(byte[] labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(0x801).putInt(labels.length).put(labels);
        return b.array();
    }

    static byte[] randomBytes(SplittableRandom rng, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) rng.nextInt(256);
        return b;
    }

    /** Labels 0..classes-1 cycling, so every class has n/classes images. */
    static byte[] cyclicLabels(int n, int classes) {
        byte[] l = new byte[n];
        for (int i = 0; i < n; i++) l[i] = (byte) (i % classes);
        return l;
    }

    /** Both splits of an IDX dataset in {@code dir}: {@code nTrain}/{@code nTest} images of rows x cols, 10 classes. */
    public static void writeIdx(Path dir, int nTrain, int nTest, int rows, int cols, boolean gzip, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        Files.createDirectories(dir);
        String gz = gzip ? ".gz" : "";
        write(dir.resolve("train-images-idx3-ubyte" + gz), idxImages(randomBytes(rng, nTrain * rows * cols), nTrain, rows, cols), gzip);
        write(dir.resolve("train-labels-idx1-ubyte" + gz), idxLabels(cyclicLabels(nTrain, 10)), gzip);
        write(dir.resolve("t10k-images-idx3-ubyte" + gz), idxImages(randomBytes(rng, nTest * rows * cols), nTest, rows, cols), gzip);
        write(dir.resolve("t10k-labels-idx1-ubyte" + gz), idxLabels(cyclicLabels(nTest, 10)), gzip);
    }

    /**
     * Both splits of an IDX dataset whose classes can be told apart: image i has label i % 10 and is
     * its class's prototype (random pixels, mirror-symmetric so that a horizontal flip keeps it, the
     * same in both splits) plus uniform noise of at most +-16. A classifier that learns anything (kNN
     * on almost any features, a linear probe) gets nearly all right; chance is 10%.
     */
    public static void writeIdxByClass(Path dir, int nTrain, int nTest, int rows, int cols, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        int plane = rows * cols;
        byte[] prototypes = randomBytes(rng, 10 * plane);
        for (int i = 0; i < prototypes.length; i++) {
            int x = i % cols;
            if (x >= cols / 2) prototypes[i] = prototypes[i - x + cols - 1 - x];
        }
        Files.createDirectories(dir);
        for (String split : new String[] {"train", "t10k"}) {
            int n = split.equals("train") ? nTrain : nTest;
            byte[] pixels = new byte[n * plane];
            for (int i = 0; i < pixels.length; i++) {
                int v = (prototypes[i / plane % 10 * plane + i % plane] & 0xFF) + rng.nextInt(33) - 16;
                pixels[i] = (byte) Math.max(0, Math.min(255, v));
            }
            write(dir.resolve(split + "-images-idx3-ubyte"), idxImages(pixels, n, rows, cols), false);
            write(dir.resolve(split + "-labels-idx1-ubyte"), idxLabels(cyclicLabels(n, 10)), false);
        }
    }

    static void write(Path file, byte[] bytes, boolean gzip) throws IOException {
        Files.write(file, gzip ? gzip(bytes) : bytes);
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream z = new GZIPOutputStream(out)) {
            z.write(bytes);
        }
        return out.toByteArray();
    }

    /** {@code records} CIFAR records: label byte(s) (label = record % classes, coarse = label % 20) then random pixels. */
    static byte[] cifarRecords(int records, boolean cifar100, SplittableRandom rng) {
        int labelBytes = cifar100 ? 2 : 1;
        int classes = cifar100 ? 100 : 10;
        ByteBuffer b = ByteBuffer.allocate(records * (labelBytes + 3072));
        for (int r = 0; r < records; r++) {
            int label = r % classes;
            if (cifar100) b.put((byte) (label % 20));
            b.put((byte) label);
            b.put(randomBytes(rng, 3072));
        }
        return b.array();
    }

    /** A CIFAR-10 directory: five training batches of {@code perBatch} records and a test batch. */
    static void writeCifar10(Path dir, int perBatch, int test, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        Files.createDirectories(dir);
        for (int i = 1; i <= 5; i++) Files.write(dir.resolve("data_batch_" + i + ".bin"), cifarRecords(perBatch, false, rng));
        Files.write(dir.resolve("test_batch.bin"), cifarRecords(test, false, rng));
    }

    /** A PNG of random pixels: grey (TYPE_BYTE_GRAY) or RGB. */
    static BufferedImage randomImage(int width, int height, boolean grey, SplittableRandom rng) {
        BufferedImage img = new BufferedImage(width, height, grey ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (grey) img.getRaster().setSample(x, y, 0, rng.nextInt(256));
                else img.setRGB(x, y, rng.nextInt(1 << 24));
            }
        }
        return img;
    }

    static void writePng(Path file, BufferedImage img) throws IOException {
        Files.createDirectories(file.getParent());
        if (!ImageIO.write(img, "png", file.toFile())) throw new IOException("no PNG writer");
    }

    /** {@code root/<split>/<class>/img<i>.png} for each split and class, {@code perClass} RGB images of w x h. */
    static void writeImageFolder(Path root, List<String> splits, List<String> classes, int perClass, int w, int h, long seed)
            throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        for (String split : splits) {
            for (String c : classes) {
                for (int i = 0; i < perClass; i++) {
                    writePng(root.resolve(split).resolve(c).resolve("img" + i + ".png"), randomImage(w, h, false, rng));
                }
            }
        }
    }

    /** A c x h x w image of random values in [0,1). */
    static Image randomImage(SplittableRandom rng, int c, int h, int w) {
        float[] d = new float[c * h * w];
        for (int i = 0; i < d.length; i++) d[i] = (float) rng.nextDouble();
        return new Image(c, h, w, d);
    }
}
