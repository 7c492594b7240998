package mocoref.cpu;

/**
 * How the cpu backend lays out a batch of feature maps [N, C, H, W]: channel-major, and within a
 * channel the N images one below the other, each row followed by one zero column and each image by
 * one zero row, all in one flat row of {@link #rowLength} floats per channel:
 *
 * <pre>
 *   element (c, n, i, j) at  c*rowLength + lead + n*imageStride + i*rowStride + j
 *   rowStride = W + 1, imageStride = (H + 1) * rowStride
 * </pre>
 *
 * The zero column serves as the right padding of one row and the left padding of the next, and the
 * zero row as the bottom padding of one image and the top padding of the next, so a 3x3 stride-1
 * convolution's tap (u, v) is the constant shift {@code (u-1)*rowStride + (v-1)} of the whole
 * channel row: it reads its input in place, without im2col. BatchNorm's per-device chunks are
 * contiguous ranges of a channel row. Every position outside the images (padding, the lead and the
 * tail) must hold zero; {@link #mask} is 1 at image positions and 0 elsewhere, and every layer that
 * writes an activation multiplies by it.
 *
 * @param n    images
 * @param h    image rows
 * @param w    image columns
 * @param span positions computed per channel: n*imageStride rounded up to whole tiles
 * @param lead zeros before position 0 (room for the taps that reach up and left)
 */
public record Plane(int n, int h, int w, int span, int lead, int rowLength, float[] mask) {

    /** The layout of n images of h x w, with tiles of {@code tile} positions. */
    public static Plane of(int n, int h, int w, int tile) {
        int rowStride = w + 1, imageStride = (h + 1) * rowStride;
        long positions = (long) n * imageStride;
        int span = (int) ((positions + tile - 1) / tile * tile);
        int lead = roundUp(rowStride + 1, 16);
        int tail = rowStride + 1 + tile;
        int rowLength = oddLines(lead + span + tail);
        float[] mask = new float[span];
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < h; i++) {
                java.util.Arrays.fill(mask, b * imageStride + i * rowStride, b * imageStride + i * rowStride + w, 1f);
            }
        }
        return new Plane(n, h, w, span, lead, rowLength, mask);
    }

    /**
     * At least {@code floats}, rounded up to an odd number of 64-byte lines. A convolution's
     * micro-kernel reads the same positions of many channel rows at once; with a row length of an
     * even number of lines those rows fall into a fraction of the L1 cache's sets (a power-of-two
     * multiple: a few sets) and evict each other; an odd number of lines spreads them over all sets.
     */
    static int oddLines(int floats) {
        int lines = (floats + 15) / 16;
        return (lines | 1) * 16;
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    public int rowStride() {
        return w + 1;
    }

    public int imageStride() {
        return (h + 1) * (w + 1);
    }

    /** Floats of a [C, N, H, W] activation in this layout. */
    public int size(int channels) {
        long s = (long) channels * rowLength;
        if (s > Integer.MAX_VALUE - 16) {
            throw new mocoref.MocoRefException("an activation of " + channels + " channels x " + n + " images of "
                    + h + "x" + w + " exceeds a Java array; use a smaller batch");
        }
        return (int) s;
    }

    /** The images' positions (relative to position 0), in order. */
    public int[] imagePositions() {
        return positions(true);
    }

    /** The border's positions below n*imageStride (the zero column and row after each image row and image), in order. */
    public int[] borderPositions() {
        return positions(false);
    }

    private int[] positions(boolean inImage) {
        int end = n * imageStride(), count = n * h * w;
        int[] out = new int[inImage ? count : end - count];
        for (int q = 0, i = 0; q < end; q++) {
            if ((mask[q] != 0) == inImage) out[i++] = q;
        }
        return out;
    }

    /** Flat index of (c, image, i, j). */
    public int at(int c, int image, int i, int j) {
        return c * rowLength + lead + image * imageStride() + i * rowStride() + j;
    }

    /** Copies the n images [C, H, W] (row-major) of x from {@code offset} into {@code out} in this layout. */
    public void load(float[] x, int offset, int channels, float[] out) {
        int hw = h * w;
        for (int c = 0; c < channels; c++) {
            for (int b = 0; b < n; b++) {
                int src = offset + (b * channels + c) * hw;
                for (int i = 0; i < h; i++) System.arraycopy(x, src + i * w, out, at(c, b, i, 0), w);
            }
        }
    }

    /** The [N, C, H, W] row-major values of an activation in this layout. */
    public float[] unload(float[] act, int channels) {
        float[] out = new float[n * channels * h * w];
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < channels; c++) {
                for (int i = 0; i < h; i++) {
                    int src = at(c, b, i, 0), dst = ((b * channels + c) * h + i) * w;
                    System.arraycopy(act, src, out, dst, w);
                }
            }
        }
        return out;
    }
}
