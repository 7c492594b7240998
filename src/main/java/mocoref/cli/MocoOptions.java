package mocoref.cli;

import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import picocli.CommandLine.Option;

/** MoCo's and the optimizer's settings, shared by {@code train} and {@code bench}; defaults are the CIFAR demo's recipe. */
final class MocoOptions {
    @Option(names = {"-b", "--batch-size"}, defaultValue = "256", description = "mini-batch size N (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--moco-k", description = "negatives per query K: the queue length (default 4096); end-to-end: batch - 1, its only value")
    Integer kOption;

    @Option(names = "--mechanism", defaultValue = "moco",
            description = "where the keys come from: moco (queue + momentum encoder), end-to-end (the batch, with gradients), memory-bank (default: ${DEFAULT-VALUE})")
    String mechanism;

    @Option(names = "--no-shuffle-bn", description = "encode keys without shuffling them across the logical devices (the paper's cheating ablation)")
    boolean noShuffleBn;

    @Option(names = "--moco-m", defaultValue = "0.99", description = "key encoder momentum m (default: ${DEFAULT-VALUE})")
    double m;

    @Option(names = "--moco-t", defaultValue = "0.1", description = "softmax temperature T (default: ${DEFAULT-VALUE})")
    double t;

    @Option(names = "--devices", defaultValue = "2", description = "logical devices G for shuffle BN (default: ${DEFAULT-VALUE})")
    int devices;

    @Option(names = "--symmetric", description = "symmetric loss L(q1,k2) + L(q2,k1), both views' keys enqueued")
    boolean symmetric;

    @Option(names = "--lr", defaultValue = "0.06", description = "learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE})")
    double momentum;

    @Option(names = "--wd", defaultValue = "5e-4", description = "weight decay (default: ${DEFAULT-VALUE})")
    double wd;

    MocoConfig.Mechanism mechanism() {
        return MocoConfig.Mechanism.parse(mechanism);
    }

    /** K: as given, else 4096, or batch - 1 for end-to-end (whose dictionary is the batch). */
    int k() {
        if (kOption != null) return kOption;
        return mechanism() == MocoConfig.Mechanism.END_TO_END ? batch - 1 : 4096;
    }

    MocoConfig config(ResNetConfig model, int[] image) {
        return new MocoConfig(model, k(), m, t, devices, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, symmetric,
                lr, momentum, wd, batch, image, mechanism(), !noShuffleBn).validate();
    }
}
