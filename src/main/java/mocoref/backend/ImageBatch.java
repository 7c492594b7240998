package mocoref.backend;

import java.util.Arrays;
import mocoref.MocoRefException;
import mocoref.tensor.Tensor;

/**
 * A batch of images [n, C, H, W], row-major, held in the precision it came in: float32 from the data
 * pipeline, float64 from a golden case. A float32 backend reads {@link #floats()}, the float64
 * reference {@link #doubles()}; each converts at most once, so training never widens its images
 * to double and back, and a float64 case reaches the reference exactly.
 */
public final class ImageBatch {
    private final int n, channels, height, width;
    private float[] floats;
    private double[] doubles;

    private ImageBatch(int n, int channels, int height, int width, float[] floats, double[] doubles) {
        long size = (long) n * channels * height * width;
        int length = floats != null ? floats.length : doubles.length;
        if (n < 0 || channels < 1 || height < 1 || width < 1 || size != length) {
            throw new MocoRefException("images [" + n + ", " + channels + ", " + height + ", " + width + "] need "
                    + size + " values, got " + length);
        }
        this.n = n;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.floats = floats;
        this.doubles = doubles;
    }

    public static ImageBatch of(float[] data, int n, int channels, int height, int width) {
        return new ImageBatch(n, channels, height, width, data, null);
    }

    public static ImageBatch of(double[] data, int n, int channels, int height, int width) {
        return new ImageBatch(n, channels, height, width, null, data);
    }

    /** A float64 tensor [n, C, H, W] as a batch. */
    public static ImageBatch of(Tensor t) {
        if (t.rank() != 4) throw new MocoRefException("images must be [n, C, H, W], got " + Arrays.toString(t.shape));
        return of(t.data, t.size(0), t.size(1), t.size(2), t.size(3));
    }

    public int n() {
        return n;
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** [C, H, W] of one image. */
    public int[] imageShape() {
        return new int[] {channels, height, width};
    }

    /** The values in float32 (rounded once from float64 if they came so). */
    public synchronized float[] floats() {
        if (floats == null) {
            floats = new float[doubles.length];
            for (int i = 0; i < doubles.length; i++) floats[i] = (float) doubles[i];
        }
        return floats;
    }

    /** The values in float64 (exact: widened from float32 if they came so). */
    public synchronized double[] doubles() {
        if (doubles == null) {
            doubles = new double[floats.length];
            for (int i = 0; i < floats.length; i++) doubles[i] = floats[i];
        }
        return doubles;
    }

    /** The batch as a float64 tensor (sharing {@link #doubles()}). */
    public Tensor toTensor() {
        return new Tensor(doubles(), n, channels, height, width);
    }
}
