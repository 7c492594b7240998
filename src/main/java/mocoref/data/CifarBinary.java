package mocoref.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import mocoref.MocoRefException;

/**
 * CIFAR-10 and CIFAR-100 in their binary versions. A record is the label byte(s) then 3072 pixel
 * bytes: the 32x32 red plane, then green, then blue, so records are already [C, H, W]. CIFAR-10:
 * one label byte, {@code data_batch_1.bin} .. {@code _5.bin} and {@code test_batch.bin}.
 * CIFAR-100: a coarse and a fine label byte (the fine one, 100 classes, is used),
 * {@code train.bin} and {@code test.bin}.
 */
final class CifarBinary {
    static final int SIDE = 32;
    static final int PIXELS = 3 * SIDE * SIDE;

    static final List<String> CIFAR10_CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
            "horse", "ship", "truck");

    /** The two layouts: label bytes per record, which label byte is the class, class count, files and names. */
    enum Kind {
        CIFAR10(1, 0, 10, "batches.meta.txt"),
        CIFAR100(2, 1, 100, "fine_label_names.txt");

        final int labelBytes;
        final int labelByte;
        final int classes;
        final String namesFile;

        Kind(int labelBytes, int labelByte, int classes, String namesFile) {
            this.labelBytes = labelBytes;
            this.labelByte = labelByte;
            this.classes = classes;
            this.namesFile = namesFile;
        }

        int recordBytes() {
            return labelBytes + PIXELS;
        }

        List<String> files(Split split) {
            if (this == CIFAR100) return List.of(split == Split.TRAIN ? "train.bin" : "test.bin");
            if (split == Split.TEST) return List.of("test_batch.bin");
            List<String> f = new ArrayList<>();
            for (int i = 1; i <= 5; i++) f.add("data_batch_" + i + ".bin");
            return f;
        }

        String title() {
            return this == CIFAR10 ? "CIFAR-10" : "CIFAR-100";
        }
    }

    private CifarBinary() {}

    static Kind detect(Path dir) {
        if (Files.isRegularFile(dir.resolve("data_batch_1.bin")) || Files.isRegularFile(dir.resolve("test_batch.bin"))) {
            return Kind.CIFAR10;
        }
        if (Files.isRegularFile(dir.resolve("train.bin")) || Files.isRegularFile(dir.resolve("test.bin"))) return Kind.CIFAR100;
        return null;
    }

    static Dataset load(Path dir, Kind kind, Split split, ImagePreparation prep) {
        List<Path> files = new ArrayList<>();
        for (String name : kind.files(split)) {
            Path f = dir.resolve(name);
            if (!Files.isRegularFile(f)) throw new MocoRefException(dir + ": missing " + name + " (" + kind.title() + " " + split.label() + " split)");
            files.add(f);
        }
        List<byte[]> contents = new ArrayList<>();
        for (Path f : files) contents.add(FileBytes.read(f));
        return decode(dir, kind, split, files, contents, prep);
    }

    /** The split from its batch files' bytes ({@code contents[i]} read from {@code files[i]}); malformations are one-line errors naming the file. */
    static Dataset decode(Path dir, Kind kind, Split split, List<Path> files, List<byte[]> contents, ImagePreparation prep) {
        long total = 0;
        int record = kind.recordBytes();
        for (int fi = 0; fi < files.size(); fi++) {
            Path f = files.get(fi);
            byte[] b = contents.get(fi);
            if (b.length == 0 || b.length % record != 0) {
                throw new MocoRefException(f + ": length " + b.length + " is not a positive multiple of the " + record + "-byte "
                        + kind.title() + " record (" + kind.labelBytes + " label byte" + (kind.labelBytes > 1 ? "s" : "")
                        + " + " + PIXELS + " pixel bytes); truncated or not a " + kind.title() + " binary batch");
            }
            total += b.length / record;
        }
        int n = Math.toIntExact(total);
        int outH = prep.outHeight(SIDE);
        int outW = prep.outWidth(SIDE);
        int per = Datasets.valuesPerImage(dir, n, prep.channels(), outH, outW);
        float[] images = new float[Math.multiplyExact(n, per)];
        int[] labels = new int[n];
        int i = 0;
        for (int fi = 0; fi < files.size(); fi++) {
            byte[] b = contents.get(fi);
            for (int r = 0; r < b.length / record; r++, i++) {
                int off = r * record;
                int label = b[off + kind.labelByte] & 0xFF;
                if (label >= kind.classes) {
                    throw new MocoRefException(files.get(fi) + ": record " + r + " has label " + label + ", but "
                            + kind.title() + " has " + kind.classes + " classes");
                }
                if (kind == Kind.CIFAR100 && (b[off] & 0xFF) >= 20) {
                    throw new MocoRefException(files.get(fi) + ": record " + r + " has coarse label " + (b[off] & 0xFF)
                            + ", but CIFAR-100 has 20 superclasses; not a CIFAR-100 batch");
                }
                labels[i] = label;
                prep.prepare(b, off + kind.labelBytes, 3, SIDE, SIDE, images, i * per);
            }
        }
        return new Dataset(dir.getFileName() + " " + split.label(), images, labels, n, prep.channels(), outH, outW,
                classNames(dir, kind));
    }

    /** The names file that comes with the binary version, else CIFAR-10's known names or CIFAR-100's numbers. */
    private static List<String> classNames(Path dir, Kind kind) {
        Path f = dir.resolve(kind.namesFile);
        if (Files.isRegularFile(f)) {
            try {
                List<String> names = Files.readAllLines(f).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
                if (names.size() != kind.classes) {
                    throw new MocoRefException(f + ": lists " + names.size() + " class names, " + kind.title() + " has " + kind.classes);
                }
                return names;
            } catch (IOException e) {
                throw new MocoRefException(f + ": cannot read: " + FileBytes.oneLine(e), e);
            }
        }
        if (kind == Kind.CIFAR10) return CIFAR10_CLASSES;
        List<String> names = new ArrayList<>();
        for (int c = 0; c < kind.classes; c++) names.add(Integer.toString(c));
        return names;
    }
}
