package mocoref.cli;

import java.nio.file.Path;
import mocoref.backend.Backend;
import mocoref.eval.ArchOverrides;
import mocoref.eval.CheckpointModel;
import mocoref.model.ResNetConfig;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/**
 * The checkpoint and how to run it, shared by {@code knn}, {@code lincls}, {@code features} and
 * {@code export}. The architecture is read off the tensors; each option here overrides one part
 * of that reading (no defaults, unlike {@link ModelOptions}, whose options describe a model to build).
 */
final class EvalModelOptions implements CheckedOptions {
    @Option(names = "--checkpoint", required = true, paramLabel = "FILE",
            description = "safetensors file: a moco-ref checkpoint, an official MoCo checkpoint (module.encoder_q.*), "
                    + "a torchvision state dict, or an exported backbone")
    Path checkpoint;

    @Option(names = "--arch", description = "override: resnet10, resnet18, resnet34 or resnet50 (block and blocks per stage)")
    String arch;

    @Option(names = "--width", description = "override: channels of stage 1")
    Integer width;

    @Option(names = "--stem", description = "override: cifar or imagenet")
    String stem;

    @Option(names = "--in-channels", description = "override: image channels")
    Integer inChannels;

    @Option(names = "--moco-dim", description = "override: the head's output dimension")
    Integer dim;

    @Option(names = "--mlp", negatable = true, description = "override: MoCo v2's MLP head (--no-mlp: a linear fc)")
    Boolean mlp;

    @Option(names = "--backend", defaultValue = "cpu", description = "reference, cpu or opencl (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "threads (0: all cores)")
    int threads;

    @picocli.CommandLine.Mixin
    OpenClOptions openCl;

    @Override
    public void checkOptions(ParseResult parsed) {
        if (arch != null) OptionRules.parses("--arch", () -> ResNetConfig.preset(arch, 1, 1, ResNetConfig.Stem.CIFAR, 1, false));
        if (width != null) OptionRules.atLeast("--width", width, 1);
        if (stem != null) OptionRules.parses("--stem", () -> ResNetConfig.Stem.parse(stem));
        if (inChannels != null) OptionRules.atLeast("--in-channels", inChannels, 1);
        if (dim != null) OptionRules.atLeast("--moco-dim", dim, 1);
        OptionRules.backendAndThreads(backend, threads);
        openCl.checkOptions(parsed); // a mixin inside a mixin: Main reaches only the outer one
    }

    /** The checkpoint, read and checked: a missing or malformed file is a one-line error naming it. */
    CheckpointModel load() {
        return CheckpointModel.load(checkpoint, new ArchOverrides(arch, width, stem, inChannels, dim, mlp));
    }

    int threads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    Backend backend() {
        return openCl.backend(backend, threads());
    }
}
