package mocoref.model;

import java.util.Arrays;
import mocoref.MocoRefException;

/**
 * The encoder's shape, as the golden-case spec's {@code model} object: torchvision's ResNet layout
 * with a configurable width, stem and head.
 *
 * @param block       basic (ResNet-18/34) or bottleneck (ResNet-50/101)
 * @param layers      blocks per stage, e.g. {2,2,2,2} for ResNet-18
 * @param width       channels of stage 1; stages have width, 2w, 4w, 8w (times the expansion at a
 *                    block's output); torchvision's ResNets are width 64
 * @param inChannels  image channels (1 for Fashion-MNIST, 3 for RGB)
 * @param stem        cifar (3x3 conv, stride 1, no max-pool) or imagenet (7x7/2 conv + 3x3/2 max-pool)
 * @param dim         output dimension of the head (MoCo's feature dimension, 128)
 * @param mlp         MoCo v2's head: fc.0 Linear(c,c), ReLU, fc.2 Linear(c,dim); else fc Linear(c,dim)
 */
public record ResNetConfig(Block block, int[] layers, int width, int inChannels, Stem stem, int dim, boolean mlp) {

    public enum Block {
        BASIC(1), BOTTLENECK(4);
        public final int expansion;

        Block(int expansion) {
            this.expansion = expansion;
        }

        public static Block parse(String s) {
            return switch (s.toLowerCase()) {
                case "basic" -> BASIC;
                case "bottleneck" -> BOTTLENECK;
                default -> throw new MocoRefException("unknown block '" + s + "' (expected basic or bottleneck)");
            };
        }

        public String id() {
            return name().toLowerCase();
        }
    }

    public enum Stem {
        CIFAR, IMAGENET;

        public static Stem parse(String s) {
            return switch (s.toLowerCase()) {
                case "cifar" -> CIFAR;
                case "imagenet" -> IMAGENET;
                default -> throw new MocoRefException("unknown stem '" + s + "' (expected cifar or imagenet)");
            };
        }

        public String id() {
            return name().toLowerCase();
        }
    }

    public ResNetConfig {
        layers = layers.clone();
        if (layers.length != 4) throw new MocoRefException("layers must have 4 stages, got " + Arrays.toString(layers));
        for (int n : layers) if (n < 1) throw new MocoRefException("every stage needs at least one block: " + Arrays.toString(layers));
        if (width < 1 || inChannels < 1 || dim < 1) {
            throw new MocoRefException("width, in_channels and dim must be positive (got " + width + ", " + inChannels + ", " + dim + ")");
        }
    }

    /** Channels at the output of the backbone (input of the head): 8 * width * expansion. */
    public int featureChannels() {
        return 8 * width * block.expansion;
    }

    /** ResNet-10/18/34/50 by name (ResNet-10: ResNet-18 with one basic block a stage instead of two), with the given width (64 is torchvision's; 128 and 256 are the paper's R50 2x and 4x). */
    public static ResNetConfig preset(String arch, int width, int inChannels, Stem stem, int dim, boolean mlp) {
        return switch (arch.toLowerCase()) {
            case "resnet10" -> new ResNetConfig(Block.BASIC, new int[] {1, 1, 1, 1}, width, inChannels, stem, dim, mlp);
            case "resnet18" -> new ResNetConfig(Block.BASIC, new int[] {2, 2, 2, 2}, width, inChannels, stem, dim, mlp);
            case "resnet34" -> new ResNetConfig(Block.BASIC, new int[] {3, 4, 6, 3}, width, inChannels, stem, dim, mlp);
            case "resnet50" -> new ResNetConfig(Block.BOTTLENECK, new int[] {3, 4, 6, 3}, width, inChannels, stem, dim, mlp);
            default -> throw new MocoRefException("unknown arch '" + arch + "' (expected resnet10, resnet18, resnet34 or resnet50)");
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResNetConfig c && block == c.block && Arrays.equals(layers, c.layers) && width == c.width
                && inChannels == c.inChannels && stem == c.stem && dim == c.dim && mlp == c.mlp;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(layers) * 31 + java.util.Objects.hash(block, width, inChannels, stem, dim, mlp);
    }

    @Override
    public String toString() {
        return block.id() + Arrays.toString(layers) + " width " + width + ", " + inChannels + " channels, " + stem.id()
                + " stem, " + (mlp ? "mlp" : "fc") + " head, dim " + dim;
    }
}
