package mocoref.data.augment;

import java.util.List;
import java.util.SplittableRandom;

/** Transforms applied in order, each drawing from the same generator (torchvision's {@code Compose}). */
public record Compose(List<Transform> steps) implements Transform {

    public Compose {
        steps = List.copyOf(steps);
    }

    public static Compose of(Transform... steps) {
        return new Compose(List.of(steps));
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        Image x = image;
        for (Transform t : steps) x = t.apply(x, rng);
        return x;
    }
}
