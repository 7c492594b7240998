package mocoref.cli;

import mocoref.model.ResNetConfig;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/** The encoder's shape, shared by {@code train}, {@code bench} and the other commands that build one. */
final class ModelOptions implements CheckedOptions {
    @Option(names = "--arch", defaultValue = "resnet18", description = "resnet10, resnet18, resnet34 or resnet50 (default: ${DEFAULT-VALUE})")
    String arch;

    @Option(names = "--width", defaultValue = "16", description = "channels of stage 1; torchvision's is 64 (default: ${DEFAULT-VALUE})")
    int width;

    @Option(names = "--stem", defaultValue = "cifar", description = "cifar (3x3 conv, no max-pool) or imagenet (default: ${DEFAULT-VALUE})")
    String stem;

    @Option(names = "--in-channels", defaultValue = "1", description = "image channels: 1 grayscale, 3 RGB (default: ${DEFAULT-VALUE})")
    int inChannels;

    @Option(names = "--image-size", defaultValue = "28", description = "input height and width (default: ${DEFAULT-VALUE})")
    int imageSize;

    @Option(names = "--moco-dim", defaultValue = "128", description = "feature dimension (default: ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--mlp", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "MoCo v2's MLP head (--no-mlp for v1's linear head; default: ${DEFAULT-VALUE})")
    boolean mlp;

    @Override
    public void checkOptions(ParseResult parsed) {
        OptionRules.parses("--arch", () -> ResNetConfig.preset(arch, 1, 1, ResNetConfig.Stem.CIFAR, 1, false));
        OptionRules.atLeast("--width", width, 1);
        OptionRules.parses("--stem", () -> ResNetConfig.Stem.parse(stem));
        // The datasets convert to grey or RGB only.
        if (inChannels != 1 && inChannels != 3) throw new OptionException("--in-channels must be 1 or 3, got " + inChannels);
        OptionRules.atLeast("--image-size", imageSize, 1);
        OptionRules.atLeast("--moco-dim", dim, 1);
    }

    ResNetConfig model() {
        return ResNetConfig.preset(arch, width, inChannels, ResNetConfig.Stem.parse(stem), dim, mlp);
    }

    int[] image() {
        return new int[] {inChannels, imageSize, imageSize};
    }
}
