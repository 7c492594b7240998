package mocoref.data.augment;

/**
 * Antialiased bilinear resize as torchvision 0.14's tensor {@code resize(..., antialias=True)}
 * (PyTorch's {@code _upsample_bilinear2d_aa}), which follows PIL's resampling: when shrinking by
 * a factor s, every output pixel averages the source pixels under a triangle filter stretched to
 * s pixels on each side, so fine detail is filtered out rather than aliased. When enlarging it is
 * ordinary bilinear interpolation. The dataset loader uses it to bring images to the requested
 * size, as torchvision's PIL-based {@code Resize} would.
 *
 * <p>Separable: rows first, then columns, each skipped when that axis keeps its size.
 */
public final class AntialiasedResize {
    private AntialiasedResize() {}

    /** {@code image} resized to {@code outHeight x outWidth}; returns {@code image} itself when the size is unchanged. */
    public static Image resize(Image image, int outHeight, int outWidth) {
        if (outHeight < 1 || outWidth < 1) throw new IllegalArgumentException("output size " + outHeight + "x" + outWidth);
        int c = image.channels();
        int h = image.height();
        int w = image.width();
        if (h == outHeight && w == outWidth) return image;
        float[] data = image.data();
        if (w != outWidth) {
            data = resampleRows(data, c * h, w, outWidth, new Filter(w, outWidth));
            w = outWidth;
        }
        if (h != outHeight) {
            // Columns: each channel is a separate h x w plane; resample along h with stride w.
            Filter f = new Filter(h, outHeight);
            float[] out = new float[c * outHeight * w];
            for (int ch = 0; ch < c; ch++) {
                resampleColumns(data, ch * h * w, out, ch * outHeight * w, h, w, outHeight, f);
            }
            data = out;
        }
        return new Image(c, outHeight, outWidth, data);
    }

    /** Resamples {@code lines} contiguous rows of {@code in} values each into {@code out} values. */
    private static float[] resampleRows(float[] src, int lines, int in, int out, Filter f) {
        float[] dst = new float[lines * out];
        for (int l = 0; l < lines; l++) {
            int s = l * in;
            int d = l * out;
            for (int o = 0; o < out; o++) {
                float acc = 0f;
                int start = f.start[o];
                int base = o * f.maxTaps;
                for (int k = 0; k < f.taps[o]; k++) acc += src[s + start + k] * f.weights[base + k];
                dst[d + o] = acc;
            }
        }
        return dst;
    }

    private static void resampleColumns(float[] src, int srcOff, float[] dst, int dstOff, int h, int w, int outH, Filter f) {
        for (int o = 0; o < outH; o++) {
            int start = f.start[o];
            int base = o * f.maxTaps;
            int drow = dstOff + o * w;
            for (int x = 0; x < w; x++) {
                float acc = 0f;
                for (int k = 0; k < f.taps[o]; k++) acc += src[srcOff + (start + k) * w + x] * f.weights[base + k];
                dst[drow + x] = acc;
            }
        }
    }

    /** Per output index: the first source index, the number of taps and their normalized weights. */
    private static final class Filter {
        final int[] start;
        final int[] taps;
        final float[] weights;
        final int maxTaps;

        Filter(int in, int out) {
            float scale = (float) in / out;
            // The triangle's half-width in source pixels: 1 when enlarging, the shrink factor when shrinking.
            float support = scale >= 1f ? scale : 1f;
            float invScale = scale >= 1f ? 1f / scale : 1f;
            maxTaps = (int) Math.ceil(support) * 2 + 1;
            start = new int[out];
            taps = new int[out];
            weights = new float[out * maxTaps];
            for (int o = 0; o < out; o++) {
                float center = scale * (o + 0.5f);
                // Truncating casts, as the C++ does; the +0.5 rounds the window's ends to pixel indices.
                int lo = Math.max((int) (center - support + 0.5f), 0);
                int n = Math.min((int) (center + support + 0.5f), in) - lo;
                float total = 0f;
                for (int k = 0; k < n; k++) {
                    float wk = triangle((k + lo - center + 0.5f) * invScale);
                    weights[o * maxTaps + k] = wk;
                    total += wk;
                }
                if (total != 0f) {
                    for (int k = 0; k < n; k++) weights[o * maxTaps + k] /= total;
                }
                start[o] = lo;
                taps[o] = n;
            }
        }

        private static float triangle(float x) {
            float a = Math.abs(x);
            return a < 1f ? 1f - a : 0f;
        }
    }
}
