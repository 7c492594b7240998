package mocoref.data.augment;

import java.util.List;
import java.util.Map;
import mocoref.MocoRefException;

/**
 * The augmentation recipes, scaled to the image size. Each ends with {@code normalize}; the
 * loader applies one recipe twice per image, with one generator, for the query and key views.
 */
public final class AugmentPresets {
    public static final List<String> NAMES = List.of("v1", "v2", "fashion");

    private AugmentPresets() {}

    /** MoCo v1 (main_moco.py): crop, grayscale 0.2, jitter 0.4 on all four, flip. */
    public static Compose v1(int size, Normalize normalize) {
        return Compose.of(
                RandomResizedCrop.moco(size),
                new RandomGrayscale(0.2),
                new ColorJitter(0.4, 0.4, 0.4, 0.4),
                new RandomHorizontalFlip(0.5),
                normalize);
    }

    /**
     * MoCo v2 (main_moco.py --aug-plus): crop, jitter (0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale 0.2,
     * blur (sigma 0.1-2, kernel ~10% of the size) with p 0.5, flip. The official code blurs PIL
     * images with a radius of sigma; torchvision's tensor blur with a finite kernel stands in for it.
     */
    public static Compose v2(int size, Normalize normalize) {
        return Compose.of(
                RandomResizedCrop.moco(size),
                new RandomApply(0.8, new ColorJitter(0.4, 0.4, 0.4, 0.1)),
                new RandomGrayscale(0.2),
                new RandomApply(0.5, new GaussianBlur(GaussianBlur.kernelSizeFor(size), 0.1, 2.0)),
                new RandomHorizontalFlip(0.5),
                normalize);
    }

    /**
     * The default recipe's, for small 1-channel images such as Fashion-MNIST: crop (scale 0.2-1),
     * flip, brightness and contrast jitter 0.4 with p 0.8 (the only colour changes a grey image
     * has), then {@code normalize}, which should hold the dataset's own mean and std.
     */
    public static Compose fashion(int size, Normalize normalize) {
        return Compose.of(
                RandomResizedCrop.moco(size),
                new RandomHorizontalFlip(0.5),
                new RandomApply(0.8, new ColorJitter(0.4, 0.4, 0, 0)),
                normalize);
    }

    /**
     * The {@code fashion} recipe with its knobs set: {@code crop} (the smallest crop, a fraction of
     * the area; 0.2), {@code flip} (its probability; 0.5), {@code jitter} (brightness and contrast
     * strength; 0.4) and {@code pjitter} (its probability; 0.8), {@code blur} (probability of a
     * Gaussian blur, sigma 0.1-2; 0), {@code erase} (probability of torchvision's RandomErasing,
     * filling with black; 0).
     */
    public static Compose fashion(int size, Normalize normalize, Map<String, Double> knobs) {
        double crop = knobs.getOrDefault("crop", 0.2), flip = knobs.getOrDefault("flip", 0.5);
        double jitter = knobs.getOrDefault("jitter", 0.4), pJitter = knobs.getOrDefault("pjitter", 0.8);
        double blur = knobs.getOrDefault("blur", 0.0), erase = knobs.getOrDefault("erase", 0.0);
        java.util.List<Transform> steps = new java.util.ArrayList<>();
        steps.add(new RandomResizedCrop(size, crop, 1.0, 3.0 / 4.0, 4.0 / 3.0));
        if (flip > 0) steps.add(new RandomHorizontalFlip(flip));
        if (jitter > 0 && pJitter > 0) steps.add(new RandomApply(pJitter, new ColorJitter(jitter, jitter, 0, 0)));
        if (blur > 0) steps.add(new RandomApply(blur, new GaussianBlur(GaussianBlur.kernelSizeFor(size), 0.1, 2.0)));
        if (erase > 0) steps.add(new RandomErasing(erase));
        steps.add(normalize);
        return Compose.of(steps.toArray(new Transform[0]));
    }

    /** The knobs {@link #fashion(int, Normalize, Map)} takes, and the range of each. */
    private static final Map<String, double[]> KNOBS = Map.of("crop", new double[] {0.01, 1}, "flip", new double[] {0, 1},
            "jitter", new double[] {0, 1}, "pjitter", new double[] {0, 1}, "blur", new double[] {0, 1}, "erase", new double[] {0, 1});

    /**
     * Refuses a recipe name that is not one of {@link #NAMES}, or {@code fashion:knob=value,...}
     * with a knob it does not have or a value out of range; returns the knobs (empty for the others).
     */
    public static Map<String, Double> parse(String name) {
        String base = name.contains(":") ? name.substring(0, name.indexOf(':')) : name;
        if (!NAMES.contains(base)) throw new MocoRefException("unknown '" + name + "' (expected " + String.join(", ", NAMES) + ")");
        Map<String, Double> knobs = new java.util.LinkedHashMap<>();
        if (!name.contains(":")) return knobs;
        if (!base.equals("fashion")) throw new MocoRefException("only fashion takes knobs (fashion:crop=0.5,erase=0.25), got '" + name + "'");
        for (String kv : name.substring(name.indexOf(':') + 1).split(",")) {
            String[] p = kv.split("=", 2);
            double[] range = KNOBS.get(p[0].trim());
            if (range == null || p.length != 2) {
                throw new MocoRefException("'" + kv + "' is not knob=value with a knob of " + new java.util.TreeSet<>(KNOBS.keySet()));
            }
            double v;
            try {
                v = Double.parseDouble(p[1].trim());
            } catch (NumberFormatException e) {
                throw new MocoRefException("" + p[0].trim() + "=" + p[1].trim() + " is not a number");
            }
            if (!(v >= range[0] && v <= range[1])) {
                throw new MocoRefException("" + p[0].trim() + " must be in [" + range[0] + ", " + range[1] + "], got " + v);
            }
            knobs.put(p[0].trim(), v);
        }
        return knobs;
    }

    /** The recipe called {@code name} (one of {@link #NAMES}, or fashion with knobs); an unknown name is the user's error. */
    public static Compose byName(String name, int size, Normalize normalize) {
        Map<String, Double> knobs = parse(name);
        return switch (name.contains(":") ? "fashion" : name) {
            case "v1" -> v1(size, normalize);
            case "v2" -> v2(size, normalize);
            case "fashion" -> knobs.isEmpty() ? fashion(size, normalize) : fashion(size, normalize, knobs);
            default -> throw new IllegalStateException(name);
        };
    }
}
