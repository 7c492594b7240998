package mocoref.data.augment;

import java.util.SplittableRandom;

/** Mirrors the image left-right with probability {@code p} (torchvision's {@code RandomHorizontalFlip}, p 0.5). */
public record RandomHorizontalFlip(double p) implements Transform {

    public RandomHorizontalFlip {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p must be in [0,1], got " + p);
    }

    public RandomHorizontalFlip() {
        this(0.5);
    }

    /** Whether to flip: torchvision flips when {@code rand < p}. */
    public boolean sample(SplittableRandom rng) {
        return rng.nextDouble() < p;
    }

    public static Image apply(Image image, boolean flip) {
        return flip ? hflip(image) : image;
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        return apply(image, sample(rng));
    }

    /** {@code F.hflip}: reverses every row. */
    public static Image hflip(Image image) {
        int w = image.width();
        int rows = image.channels() * image.height();
        float[] src = image.data();
        float[] out = new float[src.length];
        for (int r = 0; r < rows; r++) {
            int base = r * w;
            for (int x = 0; x < w; x++) out[base + x] = src[base + w - 1 - x];
        }
        return new Image(image.channels(), image.height(), w, out);
    }
}
