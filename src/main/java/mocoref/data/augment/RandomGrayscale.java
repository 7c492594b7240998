package mocoref.data.augment;

import java.util.SplittableRandom;

/**
 * torchvision's {@code RandomGrayscale(p)}: with probability p, the luma image with as many
 * channels as the input, so that later steps and the encoder see an unchanged shape.
 */
public record RandomGrayscale(double p) implements Transform {

    public RandomGrayscale {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p must be in [0,1], got " + p);
    }

    /** Whether to convert: torchvision converts when {@code rand < p}. */
    public boolean sample(SplittableRandom rng) {
        return rng.nextDouble() < p;
    }

    public static Image apply(Image image, boolean convert) {
        return convert ? Grayscale.rgbToGrayscale(image, image.channels()) : image;
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        return apply(image, sample(rng));
    }
}
