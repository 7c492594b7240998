package mocoref.data.augment;

import java.util.SplittableRandom;

/** Applies {@code transform} with probability {@code p} (torchvision's {@code RandomApply} of one transform). */
public record RandomApply(double p, Transform transform) implements Transform {

    public RandomApply {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p must be in [0,1], got " + p);
    }

    /** The coin: torchvision skips when {@code p < rand}, so it applies when the draw is at most p. */
    public boolean sample(SplittableRandom rng) {
        return !(p < rng.nextDouble());
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        return sample(rng) ? transform.apply(image, rng) : image;
    }
}
