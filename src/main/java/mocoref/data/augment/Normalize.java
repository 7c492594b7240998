package mocoref.data.augment;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * torchvision's {@code Normalize(mean, std)}: {@code (x - mean[c]) / std[c]} per channel, in
 * float32 as torchvision's {@code sub_} then {@code div_}. The last step of every pipeline and of
 * plain (feature-extraction) batches, so the encoder sees inputs of about zero mean and unit scale.
 */
public final class Normalize implements Transform {
    private final float[] mean;
    private final float[] std;

    public Normalize(double[] mean, double[] std) {
        if (mean.length == 0 || mean.length != std.length) {
            throw new IllegalArgumentException("mean and std need one value per channel, got " + mean.length + " and " + std.length);
        }
        this.mean = new float[mean.length];
        this.std = new float[std.length];
        for (int c = 0; c < mean.length; c++) {
            this.mean[c] = (float) mean[c];
            this.std[c] = (float) std[c];
            if (!(this.std[c] > 0) || !Float.isFinite(this.mean[c]) || Float.isInfinite(this.std[c])) {
                throw new IllegalArgumentException("channel " + c + ": std must be positive and finite and mean finite, got mean "
                        + mean[c] + ", std " + std[c]);
            }
        }
    }

    /** ImageNet's statistics, which main_moco.py normalizes with. */
    public static Normalize imagenet() {
        return new Normalize(new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225});
    }

    public int channels() {
        return mean.length;
    }

    public double[] mean() {
        double[] m = new double[mean.length];
        for (int c = 0; c < m.length; c++) m[c] = mean[c];
        return m;
    }

    public double[] std() {
        double[] s = new double[std.length];
        for (int c = 0; c < s.length; c++) s[c] = std[c];
        return s;
    }

    public Image apply(Image image) {
        float[] out = new float[image.data().length];
        apply(image.data(), 0, out, 0, image.channels(), image.plane());
        return new Image(image.channels(), image.height(), image.width(), out);
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        return apply(image);
    }

    /** Normalizes one {@code [channels, plane]} image from {@code src} at {@code srcOff} into {@code dst} at {@code dstOff}. */
    public void apply(float[] src, int srcOff, float[] dst, int dstOff, int channels, int plane) {
        if (channels != mean.length) {
            throw new IllegalArgumentException("normalization has " + mean.length + " channels, image has " + channels);
        }
        for (int c = 0; c < channels; c++) {
            float m = mean[c];
            float s = std[c];
            int a = srcOff + c * plane;
            int b = dstOff + c * plane;
            for (int i = 0; i < plane; i++) dst[b + i] = (src[a + i] - m) / s;
        }
    }

    @Override
    public String toString() {
        return "Normalize(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
    }
}
