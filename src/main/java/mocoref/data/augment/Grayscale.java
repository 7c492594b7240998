package mocoref.data.augment;

/**
 * torchvision 0.14's tensor {@code rgb_to_grayscale}: luma {@code 0.2989 r + 0.587 g + 0.114 b}
 * (ITU-R 601-2, with the red weight as torchvision's tensor code writes it, not PIL's 0.299),
 * computed in float32.
 */
public final class Grayscale {
    static final float R = (float) 0.2989;
    static final float G = (float) 0.587;
    static final float B = (float) 0.114;

    private Grayscale() {}

    /**
     * The luma image with {@code outChannels} (1 or 3) identical channels. A 1-channel input is
     * returned as a copy whatever {@code outChannels} says, as torchvision returns a clone of it.
     */
    public static Image rgbToGrayscale(Image image, int outChannels) {
        if (outChannels != 1 && outChannels != 3) throw new IllegalArgumentException("outChannels must be 1 or 3, got " + outChannels);
        if (image.channels() == 1) return new Image(1, image.height(), image.width(), image.data().clone());
        requireRgb(image);
        int n = image.plane();
        float[] luma = luma(image);
        if (outChannels == 1) return new Image(1, image.height(), image.width(), luma);
        float[] out = new float[3 * n];
        for (int ch = 0; ch < 3; ch++) System.arraycopy(luma, 0, out, ch * n, n);
        return new Image(3, image.height(), image.width(), out);
    }

    /** The luma plane of an RGB image. */
    static float[] luma(Image rgb) {
        int n = rgb.plane();
        float[] x = rgb.data();
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = R * x[i] + G * x[n + i] + B * x[2 * n + i];
        return l;
    }

    static void requireRgb(Image image) {
        if (image.channels() != 3) throw new IllegalArgumentException("expected 1 or 3 channels, got " + image.dims());
    }
}
