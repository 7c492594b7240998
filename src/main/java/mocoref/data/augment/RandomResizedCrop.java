package mocoref.data.augment;

import java.util.SplittableRandom;

/**
 * torchvision's {@code RandomResizedCrop(size, scale, ratio)}: a crop whose area is a uniform
 * fraction {@code scale} of the image and whose aspect ratio is log-uniform in {@code ratio},
 * resized (bilinear, no antialiasing, as torchvision 0.14 on tensors) to {@code size x size}.
 * MoCo uses scale 0.2-1: crops small enough that two views of one image can share little.
 */
public record RandomResizedCrop(int size, double minScale, double maxScale, double minRatio, double maxRatio)
        implements Transform {

    /** The crop window, torchvision's {@code (i, j, h, w)}. */
    public record Window(int top, int left, int height, int width) {}

    public RandomResizedCrop {
        if (size < 1) throw new IllegalArgumentException("crop size must be positive, got " + size);
        if (!(0 < minScale && minScale <= maxScale && maxScale <= 1)) {
            throw new IllegalArgumentException("scale must satisfy 0 < min <= max <= 1, got " + minScale + ".." + maxScale);
        }
        if (!(0 < minRatio && minRatio <= maxRatio)) {
            throw new IllegalArgumentException("ratio must satisfy 0 < min <= max, got " + minRatio + ".." + maxRatio);
        }
    }

    /** MoCo's crop: scale 0.2-1 and torchvision's default ratio 3/4-4/3. */
    public static RandomResizedCrop moco(int size) {
        return new RandomResizedCrop(size, 0.2, 1.0, 3.0 / 4.0, 4.0 / 3.0);
    }

    /**
     * torchvision's {@code get_params}: up to 10 attempts at a random area and aspect ratio that
     * fit inside the image, then a centred crop of the whole image clamped to the ratio range.
     */
    public Window sample(SplittableRandom rng, int height, int width) {
        double area = (double) height * width;
        double logMin = Math.log(minRatio);
        double logMax = Math.log(maxRatio);
        for (int attempt = 0; attempt < 10; attempt++) {
            double targetArea = area * uniform(rng, minScale, maxScale);
            double aspect = Math.exp(uniform(rng, logMin, logMax));
            // Python's round() rounds halves to even, as Math.rint does.
            int w = (int) Math.rint(Math.sqrt(targetArea * aspect));
            int h = (int) Math.rint(Math.sqrt(targetArea / aspect));
            if (0 < w && w <= width && 0 < h && h <= height) {
                int top = rng.nextInt(height - h + 1);
                int left = rng.nextInt(width - w + 1);
                return new Window(top, left, h, w);
            }
        }
        double inRatio = (double) width / height;
        int w;
        int h;
        if (inRatio < minRatio) {
            w = width;
            h = (int) Math.rint(w / minRatio);
        } else if (inRatio > maxRatio) {
            h = height;
            w = (int) Math.rint(h * maxRatio);
        } else {
            w = width;
            h = height;
        }
        return new Window((height - h) / 2, (width - w) / 2, h, w);
    }

    /** {@code F.resized_crop(image, top, left, height, width, [size, size], BILINEAR)}. */
    public Image apply(Image image, Window window) {
        return BilinearResize.resizeWindow(image, window.top(), window.left(), window.height(), window.width(), size, size);
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        return apply(image, sample(rng, image.height(), image.width()));
    }

    /** Uniform on [lo, hi]; an empty range (lo == hi) is that value, as torch's {@code uniform_} gives. */
    static double uniform(SplittableRandom rng, double lo, double hi) {
        return lo + (hi - lo) * rng.nextDouble();
    }
}
