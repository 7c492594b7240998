package mocoref.data;

import java.util.List;
import java.util.Objects;
import mocoref.data.augment.Image;
import mocoref.data.augment.Normalize;

/**
 * A dataset in memory: {@code images[n, channels, height, width]} as float32 in [0,1],
 * {@code labels[n]} indexing {@code classes}. The arrays are shared, not copied: treat them as
 * read-only (the loader's threads read them concurrently).
 */
public record Dataset(String name, float[] images, int[] labels, int n, int channels, int height, int width,
        List<String> classes) {

    public Dataset {
        Objects.requireNonNull(name, "name");
        classes = List.copyOf(classes);
        if (n < 0 || channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("bad dimensions " + n + "x" + channels + "x" + height + "x" + width);
        }
        if (images.length != (long) n * channels * height * width) {
            throw new IllegalArgumentException(n + " images of " + channels + "x" + height + "x" + width + " need "
                    + (long) n * channels * height * width + " values, got " + images.length);
        }
        if (labels.length != n) throw new IllegalArgumentException(n + " images but " + labels.length + " labels");
        if (classes.isEmpty()) throw new IllegalArgumentException("no classes");
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= classes.size()) {
                throw new IllegalArgumentException("label " + labels[i] + " of image " + i + " is outside 0.." + (classes.size() - 1));
            }
        }
    }

    /** Values per image, {@code channels * height * width}. */
    public int imageValues() {
        return channels * height * width;
    }

    public int numClasses() {
        return classes.size();
    }

    /** A copy of image {@code i}. */
    public Image image(int i) {
        Objects.checkIndex(i, n);
        return Image.copyOf(images, i * imageValues(), channels, height, width);
    }

    /** Per-channel mean of all pixels, accumulated in double. */
    public double[] channelMean() {
        double[] mean = new double[channels];
        int plane = height * width;
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < channels; c++) {
                int base = (i * channels + c) * plane;
                double s = 0;
                for (int p = 0; p < plane; p++) s += images[base + p];
                mean[c] += s;
            }
        }
        for (int c = 0; c < channels; c++) mean[c] /= (double) n * plane;
        return mean;
    }

    /** Per-channel standard deviation of all pixels (population, i.e. divided by the count, not count - 1). */
    public double[] channelStd() {
        double[] mean = channelMean();
        double[] var = new double[channels];
        int plane = height * width;
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < channels; c++) {
                int base = (i * channels + c) * plane;
                double s = 0;
                for (int p = 0; p < plane; p++) {
                    double d = images[base + p] - mean[c];
                    s += d * d;
                }
                var[c] += s;
            }
        }
        double[] std = new double[channels];
        for (int c = 0; c < channels; c++) std[c] = Math.sqrt(var[c] / ((double) n * plane));
        return std;
    }

    /**
     * Normalization by this dataset's own statistics (the {@code fashion} recipe's); a constant
     * channel, whose std is 0, divides by 1 instead, so that it maps to 0 rather than to infinity.
     */
    public Normalize normalization() {
        double[] std = channelStd();
        for (int c = 0; c < channels; c++) if (!(std[c] > 0)) std[c] = 1;
        return new Normalize(channelMean(), std);
    }

    /** The images at {@code indices}, in that order, under {@code newName}. */
    public Dataset select(int[] indices, String newName) {
        int v = imageValues();
        float[] imgs = new float[Math.multiplyExact(indices.length, v)];
        int[] labs = new int[indices.length];
        for (int k = 0; k < indices.length; k++) {
            int i = Objects.checkIndex(indices[k], n);
            System.arraycopy(images, i * v, imgs, k * v, v);
            labs[k] = labels[i];
        }
        return new Dataset(newName, imgs, labs, indices.length, channels, height, width, classes);
    }

    /** A class-balanced subset of {@code count} images, chosen with {@code seed}: see {@link BalancedSubset}. */
    public Dataset balancedSubset(int count, long seed) {
        int[] picked = BalancedSubset.select(labels, classes, count, seed, name);
        return select(picked, name + " (subset " + count + ")");
    }

    @Override
    public String toString() {
        return "Dataset[" + name + ", " + n + " x " + channels + "x" + height + "x" + width + ", " + classes.size() + " classes]";
    }
}
