package mocoref.cli;

import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/** MoCo's and the optimizer's settings, shared by {@code train} and {@code bench}; defaults are the CIFAR demo's recipe. */
final class MocoOptions implements CheckedOptions {
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
        try {
            return MocoConfig.Mechanism.parse(mechanism);
        } catch (mocoref.MocoRefException e) {
            throw new OptionException("--mechanism: " + e.getMessage());
        }
    }

    /** K: as given, else 4096, or batch - 1 for end-to-end (whose dictionary is the batch). */
    int k() {
        if (kOption != null) return kOption;
        return mechanism() == MocoConfig.Mechanism.END_TO_END ? batch - 1 : 4096;
    }

    @Override
    public void checkOptions(ParseResult parsed) {
        MocoConfig.Mechanism mech = mechanism();
        checkValues(batch, k(), devices, m, t, lr, momentum, wd);
        // A resumed run takes these from its checkpoint: the defaults beside a given --batch-size mean nothing there.
        if (!parsed.hasMatchedOption("--resume")) checkCombination(batch, k(), devices, symmetric, mech);
    }

    /** Each value in its range; also {@code golden make}'s rules for its options of the same names. */
    static void checkValues(int batch, int k, int devices, double m, double t, double lr, double momentum, double wd) {
        OptionRules.atLeast("--batch-size", batch, 1);
        OptionRules.atLeast("--moco-k", k, 1);
        OptionRules.atLeast("--devices", devices, 1);
        OptionRules.inRange("--moco-m", m, 0, 1, true);
        OptionRules.positive("--moco-t", t);
        OptionRules.positive("--lr", lr);
        OptionRules.inRange("--momentum", momentum, 0, 1, false);
        OptionRules.nonNegative("--wd", wd);
    }

    /** What the official code asserts for MoCo: whole device chunks, and a queue of whole batches of keys. */
    static void checkCombination(int batch, int k, int devices, boolean symmetric) {
        checkCombination(batch, k, devices, symmetric, MocoConfig.Mechanism.MOCO);
    }

    /** Whole device chunks; MoCo's queue of whole batches of keys, end-to-end's K of batch - 1, the memory bank's one view. */
    static void checkCombination(int batch, int k, int devices, boolean symmetric, MocoConfig.Mechanism mechanism) {
        if (batch % devices != 0) {
            throw new OptionException("--batch-size " + batch + " must be a multiple of --devices " + devices
                    + " (each logical device takes the same number of images)");
        }
        switch (mechanism) {
            case MOCO -> {
                int keys = symmetric ? 2 * batch : batch;
                if (k % keys != 0) {
                    throw new OptionException("--moco-k " + k + " must be a multiple of the " + keys + " keys enqueued per step ("
                            + (symmetric ? "2 x --batch-size " + batch + " with --symmetric" : "--batch-size " + batch)
                            + "), as the official dequeue_and_enqueue asserts");
                }
            }
            case END_TO_END -> {
                if (k != batch - 1) {
                    throw new OptionException("--moco-k " + k + ": end-to-end's dictionary is the batch, so K is --batch-size - 1 = "
                            + (batch - 1) + " (leave --moco-k out)");
                }
            }
            case MEMORY_BANK -> {
                if (symmetric) throw new OptionException("--symmetric needs two views' keys: use it with --mechanism moco or end-to-end");
            }
            default -> throw new IllegalStateException();
        }
    }

    MocoConfig config(ResNetConfig model, int[] image) {
        return new MocoConfig(model, k(), m, t, devices, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, symmetric,
                lr, momentum, wd, batch, image, mechanism(), !noShuffleBn).validate();
    }
}
