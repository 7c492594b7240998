package mocoref.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.data.Dataset;
import mocoref.data.Split;
import mocoref.data.augment.Normalize;
import mocoref.eval.CheckpointModel;
import mocoref.eval.FeatureExtractor;
import mocoref.eval.LinearEval;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref lincls}: main_lincls.py's linear classification on the frozen encoder (eval
 * mode): a re-initialized linear layer on the global-pooled features, trained with SGD on
 * augmented images, tested on the un-augmented test split.
 */
@Command(name = "lincls", description = "Linear classification on a frozen encoder.")
public final class LinclsCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Mixin
    EvalModelOptions model;

    @Mixin
    EvalDataOptions data;

    @Option(names = "--epochs", defaultValue = "100", description = "training epochs (default: ${DEFAULT-VALUE}, the paper's)")
    int epochs;

    @Option(names = "--lr", defaultValue = "30", description = "learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--schedule", split = ",", paramLabel = "EPOCH",
            description = "epochs at which the learning rate drops x0.1 (default: 60%% and 80%% of --epochs)")
    List<Integer> schedule;

    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default: ${DEFAULT-VALUE})")
    double momentum;

    @Option(names = {"--wd", "--weight-decay"}, defaultValue = "0", description = "weight decay (default: ${DEFAULT-VALUE})")
    double weightDecay;

    @Option(names = {"-b", "--batch-size"}, defaultValue = "256", description = "batch size (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--min-scale", defaultValue = "0.08",
            description = "RandomResizedCrop's smallest area fraction (default: ${DEFAULT-VALUE}, torchvision's)")
    double minScale;

    @Option(names = "--cached-features",
            description = "extract un-augmented training features once and train on them (fast; no augmentation)")
    boolean cachedFeatures;

    @Option(names = "--fixed", description = "with --cached-features: train with --lr and --wd as given (main_lincls.py's protocol) "
            + "instead of choosing them on a held-out tenth of the train set (also implied by giving --lr or --wd)")
    boolean fixed;

    @Override
    public void checkOptions(ParseResult parsed) {
        OptionRules.atLeast("--epochs", epochs, 1);
        OptionRules.positive("--lr", lr);
        if (schedule != null) for (int milestone : schedule) OptionRules.atLeast("--schedule", milestone, 1);
        OptionRules.inRange("--momentum", momentum, 0, 1, false);
        OptionRules.nonNegative("--wd", weightDecay);
        OptionRules.atLeast("--batch-size", batchSize, 1);
        OptionRules.fractionAboveZero("--min-scale", minScale);
    }

    @Override
    public Integer call() {
        int[] milestones = schedule == null ? LinearEval.defaultMilestones(epochs) : schedule.stream().mapToInt(Integer::intValue).toArray();
        data.checkPaths();
        PrintWriter out = spec.commandLine().getOut();
        CheckpointModel m = model.load();
        out.println("checkpoint: " + m.path() + " (" + m.format() + "): " + m.describe());
        Dataset train = data.load(m, Split.TRAIN);
        Dataset test = data.load(m, Split.TEST);
        EvalCommands.checkSameClasses(train, test);
        Normalize normalize = data.normalization(m, train, out);
        Encoder encoder = m.encoder(model.backend());
        LinearEval.Settings s = new LinearEval.Settings(epochs, lr, milestones, batchSize, momentum, weightDecay, data.seed,
                model.threads());
        out.printf("lincls: %s, %d epochs, lr %s x0.1 at %s, batch %d, momentum %s, wd %s%n",
                cachedFeatures ? "cached un-augmented features" : "RandomResizedCrop(" + train.height() + ", scale "
                        + EvalCommands.number(minScale) + "-1) + flip",
                epochs, EvalCommands.number(lr), java.util.Arrays.toString(milestones), batchSize, EvalCommands.number(momentum),
                EvalCommands.number(weightDecay));
        FeatureExtractor.Features testFeatures = EvalCommands.extract(encoder, test, normalize, batchSize, out);
        long t0 = System.nanoTime();
        LinearEval.Result r;
        boolean select = cachedFeatures && !fixed && !spec.commandLine().getParseResult().hasMatchedOption("--lr")
                && !spec.commandLine().getParseResult().hasMatchedOption("--wd");
        if (select) {
            FeatureExtractor.Features trainFeatures = EvalCommands.extract(encoder, train, normalize, batchSize, out);
            t0 = System.nanoTime();
            out.printf("lincls: choosing lr in %s and wd in %s on a held-out %.0f%% of the train set (%d epochs each)%n",
                    java.util.Arrays.toString(LinearEval.GRID_LR), java.util.Arrays.toString(LinearEval.GRID_WD), 100 * LinearEval.HOLD_OUT,
                    LinearEval.SELECT_EPOCHS);
            out.flush();
            LinearEval.Selection sel;
            try (mocoref.train.Progress progress = mocoref.train.Progress.lines("lincls", LinearEval.selectionEpochs(epochs), out)) {
                sel = LinearEval.selected(trainFeatures, testFeatures, train.numClasses(), s, LinearEval.GRID_LR, LinearEval.GRID_WD,
                        LinearEval.SELECT_EPOCHS, line -> {
                            out.println(line);
                            out.flush();
                        }, () -> progress.step(1, null));
            }
            out.printf("lincls: chose lr %s, wd %s; retrained on the whole train set for %d epochs%n", EvalCommands.number(sel.lr()),
                    EvalCommands.number(sel.weightDecay()), epochs);
            r = sel.result();
        } else if (cachedFeatures) {
            FeatureExtractor.Features trainFeatures = EvalCommands.extract(encoder, train, normalize, batchSize, out);
            t0 = System.nanoTime();
            r = LinearEval.cached(trainFeatures, testFeatures, train.numClasses(), s, e -> epochLine(out, e));
        } else {
            if (train.height() != train.width()) throw new MocoRefException(train.name() + ": images are not square; use --image-size");
            r = LinearEval.augmented(encoder, train, LinearEval.augmentation(train.height(), minScale, normalize), testFeatures,
                    train.numClasses(), s, e -> epochLine(out, e));
        }
        out.printf("lincls: top-1 %.2f%%  top-5 %.2f%%  (best top-1 %.2f%% after epoch %d; %d test images; training %.1f s)%n",
                100 * r.last().top1(), 100 * r.last().top5(), 100 * r.best().top1(), r.bestEpoch() + 1, test.n(),
                (System.nanoTime() - t0) / 1e9);
        out.flush();
        return 0;
    }

    private void epochLine(PrintWriter out, LinearEval.Epoch e) {
        out.printf("epoch %d/%d  lr %s  loss %.4f  train top-1 %.2f%%  test top-1 %.2f%%  top-5 %.2f%%%n", e.epoch() + 1, epochs, EvalCommands.number(e.lr()),
                e.loss(), 100 * e.trainTop1(), 100 * e.test().top1(), 100 * e.test().top5());
        out.flush();
    }
}
