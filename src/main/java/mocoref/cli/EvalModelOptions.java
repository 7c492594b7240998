package mocoref.cli;

import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.eval.ArchOverrides;
import mocoref.eval.CheckpointModel;
import picocli.CommandLine.Option;

/**
 * The checkpoint and how to run it, shared by {@code knn}, {@code lincls}, {@code features} and
 * {@code export}. The architecture is read off the tensors; each option here overrides one part
 * of that reading (no defaults, unlike {@link ModelOptions}, whose options describe a model to build).
 */
final class EvalModelOptions {
    @Option(names = "--checkpoint", required = true, paramLabel = "FILE",
            description = "safetensors file: a moco-ref checkpoint, an official MoCo checkpoint (module.encoder_q.*), "
                    + "a torchvision state dict, or an exported backbone")
    Path checkpoint;

    @Option(names = "--arch", description = "override: resnet18, resnet34 or resnet50 (block and blocks per stage)")
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

    CheckpointModel load() {
        return CheckpointModel.load(checkpoint, new ArchOverrides(arch, width, stem, inChannels, dim, mlp));
    }

    int threads() {
        if (threads < 0) throw new MocoRefException("--threads must be 0 (all cores) or positive, got " + threads);
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    Backend backend() {
        return openCl.backend(backend, threads());
    }
}
