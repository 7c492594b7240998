package mocoref.data.augment;

import java.util.SplittableRandom;

/** One step of an augmentation pipeline: draws its random parameters from {@code rng} and applies them. */
@FunctionalInterface
public interface Transform {
    /**
     * Returns the transformed image; {@code rng} is the only source of randomness, so the same
     * generator state gives the same result on any thread. {@code image} is never modified.
     */
    Image apply(Image image, SplittableRandom rng);
}
