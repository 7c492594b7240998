package mocoref.data.augment;

/**
 * torchvision 0.14's tensor colour adjustments ({@code adjust_brightness}, {@code adjust_contrast},
 * {@code adjust_saturation}, {@code adjust_hue}) on float images in [0,1], in float32 and in the
 * order of operations torchvision writes, so results agree to float rounding.
 *
 * <p>The first three blend the image with a degenerate image (black, its mean grey, its luma) by
 * the factor and clamp to [0,1]: 0 gives the degenerate image, 1 the original, above 1
 * extrapolates away from it. Saturation and hue leave 1-channel images unchanged, as PIL does.
 */
public final class ColorAdjust {
    private ColorAdjust() {}

    /** Scales every value by {@code factor} (>= 0): a blend with black. */
    public static Image brightness(Image image, double factor) {
        requireFactor("brightness", factor);
        float[] x = image.data();
        float[] out = new float[x.length];
        float a = (float) factor;
        // torchvision blends with zeros: the (1 - factor) * 0 term adds nothing.
        for (int i = 0; i < x.length; i++) out[i] = clamp01(a * x[i]);
        return like(image, out);
    }

    /** Blends with the mean of the image's luma (its mean value for 1 channel): 0 gives flat grey. */
    public static Image contrast(Image image, double factor) {
        requireFactor("contrast", factor);
        float[] src = switch (image.channels()) {
            case 1 -> image.data();
            case 3 -> Grayscale.luma(image);
            default -> throw new IllegalArgumentException("expected 1 or 3 channels, got " + image.dims());
        };
        // torch.mean of float32 sums with float accumulators in a cascade; a double sum agrees to float rounding.
        double sum = 0;
        for (float v : src) sum += v;
        float mean = (float) (sum / src.length);
        return blend(image, factor, mean, null);
    }

    /** Blends with the luma image: 0 gives grey, above 1 oversaturates. 1-channel images are returned unchanged. */
    public static Image saturation(Image image, double factor) {
        requireFactor("saturation", factor);
        if (image.channels() == 1) return image;
        Grayscale.requireRgb(image);
        return blend(image, factor, 0f, Grayscale.luma(image));
    }

    /**
     * Rotates hue by {@code factor} turns ({@code -0.5..0.5}) through HSV, with torchvision's
     * {@code _rgb2hsv}/{@code _hsv2rgb}. 1-channel images are returned unchanged.
     */
    public static Image hue(Image image, double factor) {
        if (!(factor >= -0.5 && factor <= 0.5)) throw new IllegalArgumentException("hue factor " + factor + " is not in [-0.5, 0.5]");
        if (image.channels() == 1) return image;
        Grayscale.requireRgb(image);
        int n = image.plane();
        float[] x = image.data();
        float[] out = new float[3 * n];
        float shift = (float) factor;
        for (int i = 0; i < n; i++) {
            float r = x[i];
            float g = x[n + i];
            float b = x[2 * n + i];
            float maxc = Math.max(r, Math.max(g, b));
            float minc = Math.min(r, Math.min(g, b));
            // Grey pixels (max == min) have no hue; the divisors become 1 so nothing is NaN, and s = 0 makes h irrelevant.
            boolean eqc = maxc == minc;
            float cr = maxc - minc;
            float s = cr / (eqc ? 1f : maxc);
            float crDivisor = eqc ? 1f : cr;
            float rc = (maxc - r) / crDivisor;
            float gc = (maxc - g) / crDivisor;
            float bc = (maxc - b) / crDivisor;
            float h;
            if (maxc == r) h = bc - gc;
            else if (maxc == g) h = 2.0f + rc - bc;
            else h = 4.0f + gc - rc;
            h = (h / 6.0f + 1.0f) % 1.0f;
            // Python's % (torch.remainder): the result takes the divisor's sign.
            h = (h + shift) % 1.0f;
            if (h < 0) h += 1.0f;
            hsvToRgb(h, s, maxc, out, i, n);
        }
        return like(image, out);
    }

    /** torchvision's {@code _hsv2rgb} for one pixel, written into the three planes of {@code out}. */
    private static void hsvToRgb(float h, float s, float v, float[] out, int i, int n) {
        float h6 = h * 6.0f;
        float fl = (float) Math.floor(h6);
        float f = h6 - fl;
        int sector = Math.floorMod((int) fl, 6);
        float p = clamp01(v * (1.0f - s));
        float q = clamp01(v * (1.0f - s * f));
        float t = clamp01(v * (1.0f - s * (1.0f - f)));
        float r;
        float g;
        float b;
        switch (sector) {
            case 0 -> { r = v; g = t; b = p; }
            case 1 -> { r = q; g = v; b = p; }
            case 2 -> { r = p; g = v; b = t; }
            case 3 -> { r = p; g = q; b = v; }
            case 4 -> { r = t; g = p; b = v; }
            default -> { r = v; g = p; b = q; }
        }
        out[i] = r;
        out[n + i] = g;
        out[2 * n + i] = b;
    }

    /**
     * torchvision's {@code _blend(img, other, ratio)}: {@code clamp(ratio*img + (1-ratio)*other, 0, 1)},
     * where {@code other} is the constant {@code value} or, when {@code plane} is given, that plane
     * broadcast over the channels.
     */
    private static Image blend(Image image, double ratio, float value, float[] plane) {
        float[] x = image.data();
        float[] out = new float[x.length];
        float a = (float) ratio;
        float b = (float) (1.0 - ratio);
        int n = image.plane();
        for (int i = 0; i < x.length; i++) {
            float other = plane == null ? value : plane[i % n];
            out[i] = clamp01(a * x[i] + b * other);
        }
        return like(image, out);
    }

    private static void requireFactor(String what, double factor) {
        if (!(factor >= 0)) throw new IllegalArgumentException(what + " factor " + factor + " is not non-negative");
    }

    static float clamp01(float v) {
        return v < 0f ? 0f : (v > 1f ? 1f : v);
    }

    private static Image like(Image image, float[] data) {
        return new Image(image.channels(), image.height(), image.width(), data);
    }
}
