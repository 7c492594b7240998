package mocoref.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import mocoref.MocoRefException;

/**
 * MNIST-style IDX files (MNIST, Fashion-MNIST): {@code train-images-idx3-ubyte} and
 * {@code train-labels-idx1-ubyte}, {@code t10k-*} for the test split, raw or {@code .gz}.
 * An IDX file is a big-endian header (two zero bytes, a type byte, 0x08 for unsigned bytes, a
 * dimension count byte, then one int32 per dimension) followed by the values, row-major.
 */
final class IdxFiles {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    static final List<String> FASHION_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private IdxFiles() {}

    /** Whether {@code dir} holds IDX image files of either split. */
    static boolean present(Path dir) {
        return find(dir, "train-images-idx3-ubyte") != null || find(dir, "t10k-images-idx3-ubyte") != null;
    }

    static Dataset load(Path dir, Split split, ImagePreparation prep) {
        String prefix = split == Split.TRAIN ? "train" : "t10k";
        Path imagesFile = require(dir, prefix + "-images-idx3-ubyte");
        Path labelsFile = require(dir, prefix + "-labels-idx1-ubyte");
        return decode(dir, split, imagesFile, FileBytes.read(imagesFile), labelsFile, FileBytes.read(labelsFile), prep);
    }

    /** The split from the (gunzipped) bytes of its two files; every malformation is a one-line error naming the file. */
    static Dataset decode(Path dir, Split split, Path imagesFile, byte[] img, Path labelsFile, byte[] lab, ImagePreparation prep) {
        int[] dims = header(imagesFile, img, IMAGES_MAGIC, 3, "images");
        int n = dims[0];
        int rows = dims[1];
        int cols = dims[2];
        if (rows < 1 || cols < 1) throw new MocoRefException(imagesFile + ": image size " + rows + "x" + cols + " is empty");
        checkLength(imagesFile, img.length, 16, (long) n * rows * cols, n + " images of " + rows + "x" + cols);

        int labelCount = header(labelsFile, lab, LABELS_MAGIC, 1, "labels")[0];
        checkLength(labelsFile, lab.length, 8, labelCount, labelCount + " labels");
        if (labelCount != n) {
            throw new MocoRefException(labelsFile + ": holds " + labelCount + " labels but " + imagesFile.getFileName()
                    + " holds " + n + " images");
        }
        int[] labels = new int[n];
        int maxLabel = 0;
        for (int i = 0; i < n; i++) {
            labels[i] = lab[8 + i] & 0xFF;
            maxLabel = Math.max(maxLabel, labels[i]);
        }
        List<String> classes = classNames(dir, maxLabel);

        int outH = prep.outHeight(rows);
        int outW = prep.outWidth(cols);
        int per = Datasets.valuesPerImage(imagesFile, n, prep.channels(), outH, outW);
        float[] images = new float[n * per];
        int plane = rows * cols;
        for (int i = 0; i < n; i++) prep.prepare(img, 16 + i * plane, 1, rows, cols, images, i * per);
        return new Dataset(dir.getFileName() + " " + split.label(), images, labels, n, prep.channels(), outH, outW, classes);
    }

    /** Fashion-MNIST's names when the directory's name says so, the digits for MNIST, numbers beyond ten classes. */
    private static List<String> classNames(Path dir, int maxLabel) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        boolean fashion = name != null && name.toString().toLowerCase(Locale.ROOT).contains("fashion");
        if (fashion && maxLabel < 10) return FASHION_CLASSES;
        List<String> names = new ArrayList<>();
        for (int c = 0; c <= Math.max(maxLabel, 9); c++) names.add(Integer.toString(c));
        return names;
    }

    /** The dimensions after checking the magic number; {@code what} is "images" or "labels". */
    private static int[] header(Path file, byte[] b, int magic, int ndims, String what) {
        int headerBytes = 4 + 4 * ndims;
        if (b.length < 4) throw new MocoRefException(file + ": " + b.length + " bytes, too short for an IDX header; truncated");
        int found = bigEndianInt(b, 0);
        if (found != magic) {
            throw new MocoRefException(file + ": bad magic number 0x" + String.format("%08x", found) + ", expected 0x"
                    + String.format("%08x", magic) + " (IDX " + what + ": unsigned bytes, " + ndims + " dimension"
                    + (ndims > 1 ? "s" : "") + ")");
        }
        if (b.length < headerBytes) {
            throw new MocoRefException(file + ": " + b.length + " bytes, too short for its " + headerBytes + "-byte header; truncated");
        }
        int[] dims = new int[ndims];
        for (int d = 0; d < ndims; d++) {
            dims[d] = bigEndianInt(b, 4 + 4 * d);
            if (dims[d] < 0) throw new MocoRefException(file + ": dimension " + d + " is negative (" + dims[d] + ")");
        }
        return dims;
    }

    private static void checkLength(Path file, long length, int headerBytes, long values, String declared) {
        long expected = headerBytes + values;
        if (length < expected) {
            throw new MocoRefException(file + ": truncated: " + declared + " need " + expected + " bytes, the file has " + length);
        }
        if (length > expected) {
            throw new MocoRefException(file + ": " + (length - expected) + " unexpected bytes after the " + declared + " its header declares");
        }
    }

    private static int bigEndianInt(byte[] b, int off) {
        return (b[off] & 0xFF) << 24 | (b[off + 1] & 0xFF) << 16 | (b[off + 2] & 0xFF) << 8 | (b[off + 3] & 0xFF);
    }

    /** The raw file if present, else its {@code .gz}; null when neither exists. */
    static Path find(Path dir, String base) {
        Path raw = dir.resolve(base);
        if (Files.isRegularFile(raw)) return raw;
        Path gz = dir.resolve(base + ".gz");
        return Files.isRegularFile(gz) ? gz : null;
    }

    private static Path require(Path dir, String base) {
        Path p = find(dir, base);
        if (p == null) throw new MocoRefException(dir + ": no " + base + " or " + base + ".gz (an IDX dataset needs both the images and the labels file)");
        return p;
    }
}
