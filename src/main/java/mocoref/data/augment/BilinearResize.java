package mocoref.data.augment;

/**
 * Bilinear resize as PyTorch's {@code interpolate(mode="bilinear", align_corners=False,
 * antialias=False)}, which torchvision 0.14's tensor {@code resize} and {@code resized_crop} use.
 * Without antialiasing, a strong downscale samples only 2x2 source pixels per output pixel and
 * aliases; that is torchvision's behaviour on tensors and so ours (see {@link AntialiasedResize}
 * for the dataset loader's resize).
 *
 * <p>Indices and weights are computed as PyTorch 1.13's CPU kernel computes them: the scale
 * {@code in/out} in float32, the source coordinate {@code scale * (d + 0.5) - 0.5} in double (the
 * 0.5 literals are doubles in the C++), the weight rounded to float32. Doing it all in float32
 * instead moves weights by up to an ulp of the coordinate (1e-6 at 20 pixels), which was measured.
 */
public final class BilinearResize {
    private BilinearResize() {}

    /** The whole image to {@code outHeight x outWidth}; returns {@code image} itself when the size is unchanged, as torchvision does. */
    public static Image resize(Image image, int outHeight, int outWidth) {
        if (image.height() == outHeight && image.width() == outWidth) return image;
        return resizeWindow(image, 0, 0, image.height(), image.width(), outHeight, outWidth);
    }

    /**
     * {@code F.resized_crop}: the window of {@code height x width} pixels at ({@code top}, {@code left}),
     * which must lie inside the image, resized to {@code outHeight x outWidth}. The crop is not copied first.
     */
    public static Image resizeWindow(Image image, int top, int left, int height, int width, int outHeight, int outWidth) {
        if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > image.height() || left + width > image.width()) {
            throw new IllegalArgumentException("crop " + height + "x" + width + " at (" + top + "," + left
                    + ") does not lie inside a " + image.dims() + " image");
        }
        if (outHeight < 1 || outWidth < 1) throw new IllegalArgumentException("output size " + outHeight + "x" + outWidth);
        Axis ys = new Axis(height, outHeight);
        Axis xs = new Axis(width, outWidth);
        int c = image.channels();
        int srcW = image.width();
        int srcPlane = image.plane();
        float[] src = image.data();
        float[] out = new float[c * outHeight * outWidth];
        for (int ch = 0; ch < c; ch++) {
            int base = ch * srcPlane + top * srcW + left;
            int o = ch * outHeight * outWidth;
            for (int oy = 0; oy < outHeight; oy++) {
                int row0 = base + ys.i0[oy] * srcW;
                int row1 = base + ys.i1[oy] * srcW;
                float wy0 = ys.w0[oy];
                float wy1 = ys.w1[oy];
                for (int ox = 0; ox < outWidth; ox++) {
                    int x0 = xs.i0[ox];
                    int x1 = xs.i1[ox];
                    float wx0 = xs.w0[ox];
                    float wx1 = xs.w1[ox];
                    // PyTorch's order: interpolate along x within each of the two rows, then between rows.
                    float t0 = src[row0 + x0] * wx0 + src[row0 + x1] * wx1;
                    float t1 = src[row1 + x0] * wx0 + src[row1 + x1] * wx1;
                    out[o++] = t0 * wy0 + t1 * wy1;
                }
            }
        }
        return new Image(c, outHeight, outWidth, out);
    }

    /** Source indices and weights along one axis, as PyTorch's {@code compute_source_index_and_lambda}. */
    private static final class Axis {
        final int[] i0;
        final int[] i1;
        final float[] w0;
        final float[] w1;

        Axis(int in, int out) {
            i0 = new int[out];
            i1 = new int[out];
            w0 = new float[out];
            w1 = new float[out];
            float scale = (float) in / out;
            for (int d = 0; d < out; d++) {
                if (in == out) {
                    // PyTorch copies straight through when an axis keeps its size.
                    i0[d] = d;
                    i1[d] = d;
                    w0[d] = 1f;
                    w1[d] = 0f;
                    continue;
                }
                double real = (double) scale * (d + 0.5) - 0.5;
                if (real < 0) real = 0; // half-pixel centres before the first pixel clamp to it
                int lo = (int) real;
                i0[d] = lo;
                i1[d] = lo + (lo < in - 1 ? 1 : 0);
                float lambda1 = (float) Math.min(Math.max(real - lo, 0), 1);
                w1[d] = lambda1;
                w0[d] = 1f - lambda1;
            }
        }
    }
}
