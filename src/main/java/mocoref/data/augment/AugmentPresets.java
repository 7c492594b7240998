package mocoref.data.augment;

import java.util.List;
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

    /** The recipe called {@code name} (one of {@link #NAMES}); an unknown name is the user's error. */
    public static Compose byName(String name, int size, Normalize normalize) {
        return switch (name) {
            case "v1" -> v1(size, normalize);
            case "v2" -> v2(size, normalize);
            case "fashion" -> fashion(size, normalize);
            default -> throw new MocoRefException("--aug: unknown augmentation '" + name + "'; expected one of " + NAMES);
        };
    }
}
