package mocoref.data;

import java.nio.file.Files;
import java.nio.file.Path;
import mocoref.MocoRefException;

/**
 * Loads a dataset directory into memory, recognizing its format from what it contains:
 * <ul>
 *   <li>MNIST-style IDX files ({@code train-images-idx3-ubyte[.gz]}, ...): MNIST, Fashion-MNIST;
 *   <li>CIFAR-10 ({@code data_batch_1.bin} .. {@code _5}, {@code test_batch.bin}) or CIFAR-100
 *       ({@code train.bin}, {@code test.bin}) binary batches, also inside the archives' own
 *       {@code cifar-10-batches-bin/} or {@code cifar-100-binary/} folder;
 *   <li>an ImageFolder tree: {@code train/<class>/*.png|jpg} and {@code val/<class>/...}, or
 *       class folders directly.
 * </ul>
 */
public final class Datasets {
    /** The format a directory holds. */
    public enum Format { IDX, CIFAR10, CIFAR100, IMAGE_FOLDER }

    private Datasets() {}

    /**
     * The whole split, as {@code channels} (1 or 3; 0 keeps the stored count, which is RGB for image
     * folders) of {@code imageSize x imageSize} (0 keeps the stored size).
     */
    public static Dataset load(Path dir, Split split, int imageSize, int channels) {
        return load(dir, split, imageSize, channels, 0, 0);
    }

    /**
     * As {@link #load(Path, Split, int, int)}, keeping only a class-balanced subset of
     * {@code subset} images ({@link BalancedSubset}; 0 keeps all) chosen with {@code seed}. For
     * image folders the subset is chosen from the file listing, so only its images are decoded.
     */
    public static Dataset load(Path dir, Split split, int imageSize, int channels, int subset, long seed) {
        if (imageSize < 0) throw new MocoRefException("--image-size must be positive (or 0 for the stored size), got " + imageSize);
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new MocoRefException("--in-channels must be 1 or 3 (or 0 for the stored count), got " + channels);
        }
        if (subset < 0) throw new MocoRefException("--subset must be positive (or 0 for all images), got " + subset);
        Path root = datasetRoot(dir);
        Format format = detect(root);
        if (format == Format.IMAGE_FOLDER) {
            ImagePreparation prep = new ImagePreparation(channels == 0 ? 3 : channels, imageSize);
            ImageFolder.Listing listing = ImageFolder.list(root, split);
            String name = root.getFileName() + " " + split.label();
            int[] pick = null;
            if (subset > 0) {
                int[] labels = listing.entries().stream().mapToInt(ImageFolder.Entry::label).toArray();
                pick = BalancedSubset.select(labels, listing.classes(), subset, seed, listing.root().toString());
                name += " (subset " + subset + ")";
            }
            return ImageFolder.load(listing, pick, prep, name);
        }
        Dataset all = switch (format) {
            case IDX -> IdxFiles.load(root, split, new ImagePreparation(channels == 0 ? 1 : channels, imageSize));
            case CIFAR10 -> CifarBinary.load(root, CifarBinary.Kind.CIFAR10, split, new ImagePreparation(channels == 0 ? 3 : channels, imageSize));
            case CIFAR100 -> CifarBinary.load(root, CifarBinary.Kind.CIFAR100, split, new ImagePreparation(channels == 0 ? 3 : channels, imageSize));
            case IMAGE_FOLDER -> throw new AssertionError();
        };
        return subset > 0 ? all.balancedSubset(subset, seed) : all;
    }

    /** The format of {@code dir} (after stepping into a CIFAR archive's folder); an unrecognized directory is the user's error. */
    public static Format detect(Path dir) {
        Path root = datasetRoot(dir);
        if (IdxFiles.present(root)) return Format.IDX;
        CifarBinary.Kind kind = CifarBinary.detect(root);
        if (kind != null) return kind == CifarBinary.Kind.CIFAR10 ? Format.CIFAR10 : Format.CIFAR100;
        if (ImageFolder.present(root)) return Format.IMAGE_FOLDER;
        throw new MocoRefException(dir + ": no dataset found: expected MNIST-style IDX files (train-images-idx3-ubyte[.gz], ...),"
                + " CIFAR binary batches (data_batch_1.bin ... test_batch.bin, or train.bin/test.bin),"
                + " or an image folder tree (train/<class>/*.png, val/<class>/...)");
    }

    /** {@code dir}, or the folder a CIFAR archive unpacks into when {@code dir} holds just that. */
    private static Path datasetRoot(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new MocoRefException(dir + ": " + (Files.exists(dir) ? "not a directory" : "no such directory"));
        }
        for (String inner : new String[] {"cifar-10-batches-bin", "cifar-100-binary"}) {
            Path p = dir.resolve(inner);
            if (Files.isDirectory(p) && !IdxFiles.present(dir) && CifarBinary.detect(dir) == null) return p;
        }
        return dir;
    }

    /** Values per image, checking that {@code n} of them fit one Java array. */
    static int valuesPerImage(Path where, int n, int channels, int height, int width) {
        long per = (long) channels * height * width;
        long total = per * n;
        if (total > Integer.MAX_VALUE - 8) {
            throw new MocoRefException(where + ": " + n + " images of " + channels + "x" + height + "x" + width + " are " + total
                    + " values, more than one Java array holds (2^31 - 1); use --subset or a smaller --image-size");
        }
        return (int) per;
    }
}
