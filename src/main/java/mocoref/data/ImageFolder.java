package mocoref.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import mocoref.MocoRefException;

/**
 * torchvision's {@code ImageFolder}: one sub-folder per class, its images anywhere below it.
 * Classes are the sub-folders sorted by name (label i is the i-th); images are ordered by folder
 * then file name, as torchvision walks them; files that are not images are skipped. ImageNet's
 * layout, {@code train/} and {@code val/} (or {@code test/}) with the same class folders, picks
 * the split; a folder of class folders alone is one tree, used as it is for either split.
 */
final class ImageFolder {
    /** What javax.imageio decodes (JDK 9+ reads TIFF too). */
    static final Set<String> READABLE = Set.of(".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".wbmp");
    /** torchvision's other image extensions: such a file is an image javax.imageio cannot read, so an error, not skipped. */
    static final Set<String> UNREADABLE = Set.of(".ppm", ".pgm", ".webp");

    /** One image file and its label. */
    record Entry(Path file, int label) {}

    /** The class names and the files, in torchvision's order. */
    record Listing(Path root, List<String> classes, List<Entry> entries) {}

    private ImageFolder() {}

    /** Whether {@code dir} looks like an ImageFolder: it has at least one sub-folder. */
    static boolean present(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(Files::isDirectory);
        } catch (IOException e) {
            return false;
        }
    }

    /** The tree for {@code split}: {@code train/} or {@code val/} (else {@code test/}) when they exist, else {@code dir} itself. */
    static Path splitRoot(Path dir, Split split) {
        Path train = dir.resolve("train");
        Path val = dir.resolve("val");
        Path test = dir.resolve("test");
        boolean splitLayout = Files.isDirectory(train) || Files.isDirectory(val) || Files.isDirectory(test);
        if (!splitLayout) return dir;
        if (split == Split.TRAIN) {
            if (!Files.isDirectory(train)) throw new MocoRefException(dir + ": has val/ or test/ but no train/ folder");
            return train;
        }
        if (Files.isDirectory(val)) return val;
        if (Files.isDirectory(test)) return test;
        throw new MocoRefException(dir + ": has train/ but no val/ or test/ folder for the test split");
    }

    static Listing list(Path dir, Split split) {
        Path root = splitRoot(dir, split);
        List<String> classes = classFolders(root);
        // The test split is labelled with the training tree's classes, so a label means the same class in both.
        Path train = dir.resolve("train");
        if (split == Split.TEST && !root.equals(dir) && Files.isDirectory(train)) {
            List<String> trainClasses = classFolders(train);
            for (String c : classes) {
                if (!trainClasses.contains(c)) {
                    throw new MocoRefException(root.resolve(c) + ": class folder has no counterpart in " + train);
                }
            }
            classes = trainClasses;
        }
        List<Entry> entries = new ArrayList<>();
        for (int label = 0; label < classes.size(); label++) {
            Path classDir = root.resolve(classes.get(label));
            if (!Files.isDirectory(classDir)) continue; // a training class the val tree lacks: no images of it
            List<Path> files = imagesUnder(classDir);
            if (files.isEmpty()) {
                throw new MocoRefException(classDir + ": empty class folder (no image files; supported: " + READABLE.stream().sorted().toList() + ")");
            }
            for (Path f : files) entries.add(new Entry(f, label));
        }
        return new Listing(root, classes, entries);
    }

    /** Loads the listed images at {@code indices} (all when null), decoding in parallel into disjoint slices. */
    static Dataset load(Listing listing, int[] indices, ImagePreparation prep, String name) {
        int n = indices == null ? listing.entries().size() : indices.length;
        int[] pick = indices == null ? IntStream.range(0, n).toArray() : indices;
        if (n == 0) throw new MocoRefException(listing.root() + ": no images");
        // The first image fixes the size when none was requested; all others must then agree.
        ImageDecoding.Pixels first = ImageDecoding.decode(listing.entries().get(pick[0]).file());
        int outH = prep.outHeight(first.height());
        int outW = prep.outWidth(first.width());
        int per = Datasets.valuesPerImage(listing.root(), n, prep.channels(), outH, outW);
        float[] images = new float[n * per];
        int[] labels = new int[n];
        IntStream.range(0, n).parallel().forEach(k -> {
            Entry e = listing.entries().get(pick[k]);
            ImageDecoding.Pixels p = k == 0 ? first : ImageDecoding.decode(e.file());
            if (prep.outHeight(p.height()) != outH || prep.outWidth(p.width()) != outW) {
                throw new MocoRefException(e.file() + ": image is " + p.width() + "x" + p.height() + " but "
                        + listing.entries().get(pick[0]).file().getFileName() + " is " + first.width() + "x" + first.height()
                        + "; give an image size to resize them all");
            }
            prep.prepare(p.data(), 0, p.channels(), p.height(), p.width(), images, k * per);
            labels[k] = e.label();
        });
        return new Dataset(name, images, labels, n, prep.channels(), outH, outW, listing.classes());
    }

    private static List<String> classFolders(Path root) {
        List<String> classes;
        try (Stream<Path> s = Files.list(root)) {
            // Python's sorted() on names: code-point order, which String.compareTo gives for these names.
            classes = s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new MocoRefException(root + ": cannot list: " + FileBytes.oneLine(e), e);
        }
        if (classes.isEmpty()) throw new MocoRefException(root + ": no class folders (an image folder needs one sub-folder per class)");
        return classes;
    }

    private static List<Path> imagesUnder(Path classDir) {
        try (Stream<Path> s = Files.walk(classDir, FileVisitOption.FOLLOW_LINKS)) {
            List<Path> files = s.filter(Files::isRegularFile).filter(p -> {
                String ext = extension(p);
                if (UNREADABLE.contains(ext)) {
                    throw new MocoRefException(p + ": unreadable image (javax.imageio has no " + ext + " decoder; convert it to PNG)");
                }
                return READABLE.contains(ext);
            }).toList();
            // torchvision sorts os.walk's (folder, files) by folder, then each folder's file names.
            return files.stream().sorted(Comparator.comparing((Path p) -> p.getParent().toString())
                    .thenComparing(p -> p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new MocoRefException(classDir + ": cannot list: " + FileBytes.oneLine(e), e);
        } catch (UncheckedIOException e) {
            throw new MocoRefException(classDir + ": cannot list: " + FileBytes.oneLine(e.getCause()), e);
        }
    }

    private static String extension(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot);
    }
}
