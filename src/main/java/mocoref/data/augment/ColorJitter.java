package mocoref.data.augment;

import java.util.SplittableRandom;

/**
 * torchvision's {@code ColorJitter(brightness, contrast, saturation, hue)}: each enabled
 * adjustment gets a uniform factor (brightness, contrast and saturation in
 * {@code [max(0, 1-v), 1+v]}, hue in {@code [-v, v]}), and the four are applied in a random
 * order, which matters because they do not commute. A strength of 0 disables that adjustment.
 * On 1-channel images saturation and hue do nothing, so only brightness and contrast act.
 */
public record ColorJitter(double brightness, double contrast, double saturation, double hue) implements Transform {

    /**
     * One draw: {@code order} is a permutation of 0..3 (brightness, contrast, saturation, hue),
     * and a factor is NaN for a disabled adjustment, which is then skipped, as torchvision skips None.
     */
    public record Params(int[] order, double brightness, double contrast, double saturation, double hue) {
        public Params {
            order = order.clone();
            boolean[] seen = new boolean[4];
            if (order.length != 4) throw new IllegalArgumentException("order must be a permutation of 0..3");
            for (int i : order) {
                if (i < 0 || i > 3 || seen[i]) throw new IllegalArgumentException("order must be a permutation of 0..3");
                seen[i] = true;
            }
        }

        @Override
        public int[] order() {
            return order.clone();
        }
    }

    public ColorJitter {
        for (double v : new double[] {brightness, contrast, saturation}) {
            if (!(v >= 0)) throw new IllegalArgumentException("jitter strengths must be non-negative, got " + v);
        }
        if (!(hue >= 0 && hue <= 0.5)) throw new IllegalArgumentException("hue jitter must be in [0, 0.5], got " + hue);
    }

    /** torchvision's {@code get_params}: a random order, then the four factors in a fixed order. */
    public Params sample(SplittableRandom rng) {
        int[] order = {0, 1, 2, 3};
        for (int i = 3; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double b = brightness > 0 ? RandomResizedCrop.uniform(rng, Math.max(0, 1 - brightness), 1 + brightness) : Double.NaN;
        double c = contrast > 0 ? RandomResizedCrop.uniform(rng, Math.max(0, 1 - contrast), 1 + contrast) : Double.NaN;
        double s = saturation > 0 ? RandomResizedCrop.uniform(rng, Math.max(0, 1 - saturation), 1 + saturation) : Double.NaN;
        double h = hue > 0 ? RandomResizedCrop.uniform(rng, -hue, hue) : Double.NaN;
        return new Params(order, b, c, s, h);
    }

    /** The adjustments in {@code params.order()}, skipping the disabled (NaN) ones. */
    public static Image apply(Image image, Params params) {
        Image x = image;
        for (int op : params.order) {
            switch (op) {
                case 0 -> { if (!Double.isNaN(params.brightness)) x = ColorAdjust.brightness(x, params.brightness); }
                case 1 -> { if (!Double.isNaN(params.contrast)) x = ColorAdjust.contrast(x, params.contrast); }
                case 2 -> { if (!Double.isNaN(params.saturation)) x = ColorAdjust.saturation(x, params.saturation); }
                default -> { if (!Double.isNaN(params.hue)) x = ColorAdjust.hue(x, params.hue); }
            }
        }
        return x;
    }

    @Override
    public Image apply(Image image, SplittableRandom rng) {
        return apply(image, sample(rng));
    }
}
