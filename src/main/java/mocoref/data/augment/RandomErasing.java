package mocoref.data.augment;

import java.util.SplittableRandom;

/**
 * torchvision's {@code RandomErasing}: with probability {@code p}, a rectangle of {@code scale}
 * (0.02-0.33) of the area and aspect ratio {@code ratio} (0.3-3.3, log-uniform) is filled with
 * {@code value} (here 0, before normalization: the black background of Fashion-MNIST); ten tries
 * to fit one in the image, else nothing.
 */
public record RandomErasing(double p, double minScale, double maxScale, double minRatio, double maxRatio, float value)
        implements Transform {

    public RandomErasing {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p must be in [0,1], got " + p);
    }

    /** torchvision's defaults, filling with 0. */
    public RandomErasing(double p) {
        this(p, 0.02, 0.33, 0.3, 3.3, 0f);
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        if (!(rng.nextDouble() < p)) return image;
        int h = image.height(), w = image.width();
        double area = h * w, logLo = Math.log(minRatio), logHi = Math.log(maxRatio);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * RandomResizedCrop.uniform(rng, minScale, maxScale);
            double ratio = Math.exp(RandomResizedCrop.uniform(rng, logLo, logHi));
            int eh = (int) Math.round(Math.sqrt(target * ratio)), ew = (int) Math.round(Math.sqrt(target / ratio));
            if (eh >= h || ew >= w || eh < 1 || ew < 1) continue;
            int top = rng.nextInt(h - eh + 1), left = rng.nextInt(w - ew + 1);
            float[] out = image.data().clone();
            for (int c = 0; c < image.channels(); c++) {
                for (int i = top; i < top + eh; i++) java.util.Arrays.fill(out, (c * h + i) * w + left, (c * h + i) * w + left + ew, value);
            }
            return new Image(image.channels(), h, w, out);
        }
        return image;
    }
}
