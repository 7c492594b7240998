package mocoref.data.augment;

import java.util.SplittableRandom;

/**
 * torchvision's {@code GaussianBlur(kernelSize, sigma=(min, max))}: sigma uniform in the range,
 * then {@code F.gaussian_blur} on tensors: a {@code kernelSize x kernelSize} Gaussian normalized to
 * sum 1, applied per channel over the image reflect-padded by {@code kernelSize/2} (so borders are
 * not darkened). The kernel is separable, so it is applied as a row pass and a column pass; that
 * differs from torchvision's single 2-D convolution only by float rounding.
 *
 * <p>MoCo v2's blur (from SimCLR) uses sigma 0.1-2.0 and a kernel of about 10% of the image
 * size: {@link #kernelSizeFor(int)}.
 */
public record GaussianBlur(int kernelSize, double minSigma, double maxSigma) implements Transform {

    public GaussianBlur {
        if (kernelSize < 1 || kernelSize % 2 == 0) throw new IllegalArgumentException("kernel size must be odd and positive, got " + kernelSize);
        if (!(0 < minSigma && minSigma <= maxSigma)) throw new IllegalArgumentException("sigma must satisfy 0 < min <= max, got " + minSigma + ".." + maxSigma);
    }

    /** 10% of the image size, made odd by rounding up, at least 3: 23 for 224, 3 for 28 or 32. */
    public static int kernelSizeFor(int imageSize) {
        int k = (int) (0.1 * imageSize);
        if (k % 2 == 0) k++;
        return Math.max(k, 3);
    }

    public double sample(SplittableRandom rng) {
        return RandomResizedCrop.uniform(rng, minSigma, maxSigma);
    }

    public Image apply(Image image, double sigma) {
        return blur(image, kernelSize, sigma);
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        return apply(image, sample(rng));
    }

    /** {@code F.gaussian_blur(image, [k, k], [sigma, sigma])}; needs {@code k/2} below both image sides, as reflect padding does. */
    public static Image blur(Image image, int kernelSize, double sigma) {
        int pad = kernelSize / 2;
        int h = image.height();
        int w = image.width();
        if (pad >= h || pad >= w) {
            throw new IllegalArgumentException("a " + kernelSize + "x" + kernelSize + " blur needs reflect padding " + pad
                    + ", which must be smaller than the image sides, got " + image.dims());
        }
        float[] k = kernel1d(kernelSize, sigma);
        int[] colIndex = reflected(w, pad);
        int[] rowIndex = reflected(h, pad);
        float[] src = image.data();
        float[] rows = new float[src.length];
        float[] out = new float[src.length];
        int plane = image.plane();
        for (int ch = 0; ch < image.channels(); ch++) {
            int base = ch * plane;
            for (int y = 0; y < h; y++) {
                int row = base + y * w;
                for (int x = 0; x < w; x++) {
                    float acc = 0f;
                    for (int t = 0; t < kernelSize; t++) acc += k[t] * src[row + colIndex[x + t]];
                    rows[row + x] = acc;
                }
            }
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    float acc = 0f;
                    for (int t = 0; t < kernelSize; t++) acc += k[t] * rows[base + rowIndex[y + t] * w + x];
                    out[base + y * w + x] = acc;
                }
            }
        }
        return new Image(image.channels(), h, w, out);
    }

    /** torchvision's {@code _get_gaussian_kernel1d} in float32: exp(-x^2 / 2 sigma^2) at the integer offsets, normalized. */
    static float[] kernel1d(int size, double sigma) {
        float half = (size - 1) * 0.5f;
        float s = (float) sigma;
        float[] k = new float[size];
        float sum = 0f;
        for (int i = 0; i < size; i++) {
            float x = (-half + i) / s;
            k[i] = (float) Math.exp(-0.5f * (x * x));
            sum += k[i];
        }
        for (int i = 0; i < size; i++) k[i] /= sum;
        return k;
    }

    /** Source index for each padded position {@code -pad .. n-1+pad}, reflecting without repeating the edge (numpy's "reflect"). */
    private static int[] reflected(int n, int pad) {
        int[] idx = new int[n + 2 * pad];
        for (int p = 0; p < idx.length; p++) {
            int i = p - pad;
            if (i < 0) i = -i;
            if (i >= n) i = 2 * (n - 1) - i;
            idx[p] = i;
        }
        return idx;
    }
}
