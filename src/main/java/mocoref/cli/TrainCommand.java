package mocoref.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.data.Dataset;
import mocoref.data.Datasets;
import mocoref.data.Split;
import mocoref.data.augment.AugmentPresets;
import mocoref.data.augment.Normalize;
import mocoref.train.Checkpoint;
import mocoref.train.Plots;
import mocoref.train.Probes;
import mocoref.train.TrainConfig;
import mocoref.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref train}: MoCo pre-training with the options of {@code main_moco.py} and the CIFAR
 * demo. With no arguments it trains the default recipe on Fashion-MNIST.
 */
@Command(name = "train", description = "Pre-train a MoCo encoder (default: Fashion-MNIST, narrow ResNet-18).")
public final class TrainCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    public static final Path DEFAULT_DATA = Path.of("/usr/share/datasets/fashion-mnist");

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    MocoOptions mocoOptions;

    @Mixin
    OpenClOptions openCl;

    @Option(names = "--preset", description = "a recipe from docs/learning.md whose values stand in for the defaults of the "
            + "options not given: quick (the default of a new run: ResNet-10, 8 epochs, batch 64, gentler crops, "
            + "stronger brightness and contrast jitter), 1h (ResNet-10 at width 32 for 13 epochs, batch 64, gentler crops: under an hour on 2 "
            + "cores, linear probe 89.32%%), none (every option at the "
            + "default shown here: the CIFAR demo's recipe); the run prints the values it takes")
    String preset;

    @Option(names = "--epochs", defaultValue = "3", description = "epochs (default: ${DEFAULT-VALUE}; the quick preset, a new run's default, takes 8: about 9 minutes on 2 cores, baselines and kNN included)")
    int epochs;

    @Option(names = "--cos", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "cosine learning-rate schedule (--no-cos: x0.1 at each --schedule epoch; default: ${DEFAULT-VALUE})")
    boolean cos;

    @Option(names = "--schedule", split = ",", defaultValue = "120,160", description = "epochs of the x0.1 drops without --cos (default: ${DEFAULT-VALUE})")
    int[] schedule;

    @Option(names = "--warmup-epochs", defaultValue = "0", description = "raise the learning rate linearly from 0 over this many epochs, step by step (default: ${DEFAULT-VALUE})")
    double warmupEpochs;

    @Option(names = "--moco-m-cos", description = "cosine schedule of the momentum m from --moco-m to 1 over all steps")
    boolean mCos;

    @Option(names = "--aug-plus", description = "MoCo v2's augmentation (main_moco.py --aug-plus); same as --aug v2")
    boolean augPlus;

    @Option(names = "--aug", description = "augmentation preset: fashion, v1 or v2 (default: fashion for 1 channel, v1 for 3); fashion takes knobs: fashion:crop=0.5,flip=0.5,jitter=0.4,pjitter=0.8,blur=0,erase=0.25")
    String aug;

    @Option(names = "--seed", defaultValue = "0", description = "seed of every random draw (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--backend", defaultValue = "cpu", description = "reference, cpu, opencl (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "threads of the backend (0: all cores)")
    int threads;

    @Option(names = "--data", description = "dataset directory: IDX (MNIST/Fashion-MNIST), CIFAR binary or ImageFolder (default: "
            + "/usr/share/datasets/fashion-mnist)")
    Path data;

    @Option(names = "--subset", defaultValue = "0", description = "train on a class-balanced subset of N images (0: all)")
    int subset;

    @Option(names = "--knn-k", defaultValue = "200", description = "kNN monitor: neighbours (default: ${DEFAULT-VALUE})")
    int knnK;

    @Option(names = "--knn-t", defaultValue = "0.1", description = "kNN monitor: temperature (default: ${DEFAULT-VALUE})")
    double knnT;

    @Option(names = "--monitor", defaultValue = "0",
            description = "kNN monitor between epochs on balanced subsets of this many train and test images, for speed (0: all; "
                    + "the last epoch's kNN and the linear probe always use all; default: ${DEFAULT-VALUE})")
    int monitor;

    @Option(names = "--baselines", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "first print kNN and linear-probe accuracy on the raw pixels, for scale (default: ${DEFAULT-VALUE})")
    boolean baselines;

    @Option(names = "--detect-anomaly", description = "check every layer's outputs and gradients for NaN and infinity, and stop at the first, naming it (slow: for debugging)")
    boolean detectAnomaly;

    @Option(names = "--resume", description = "checkpoint file, or run directory (its checkpoint_last.safetensors), to continue")
    Path resume;

    @Option(names = "--out", description = "run directory (default: runs/<date-time>, or the resumed run's)")
    Path out;

    /**
     * Before any option is checked ({@link Main}): a new run takes its preset's values for the
     * options not given; a resumed run keeps its checkpoint's recipe, so it takes no preset.
     */
    void applyPreset(ParseResult parsed) {
        if (parsed.hasMatchedOption("--resume")) {
            if (preset != null) throw new OptionException("--preset chooses the recipe of a new run; a resumed run keeps its checkpoint's");
            return;
        }
        presetApplied = TrainPresets.apply(presetName(), spec, parsed);
    }

    /** The options the preset set, for the run's "recipe:" line. */
    private String presetApplied = "";

    private String presetName() {
        return preset != null ? preset : TrainPresets.DEFAULT;
    }

    @Override
    public void checkOptions(ParseResult parsed) {
        boolean resuming = parsed.hasMatchedOption("--resume");
        OptionRules.atLeast("--epochs", epochs, 1);
        for (int milestone : schedule) OptionRules.atLeast("--schedule", milestone, 1);
        if (aug != null) OptionRules.parses("--aug", () -> AugmentPresets.parse(aug));
        if (augPlus && aug != null && !aug.equals("v2")) {
            throw new OptionException("--aug-plus is --aug v2, but --aug " + aug + " was given too");
        }
        OptionRules.backendAndThreads(backend, threads);
        OptionRules.atLeast("--subset", subset, 0);
        OptionRules.atLeast("--knn-k", knnK, 1);
        OptionRules.atLeast("--monitor", monitor, 0);
        OptionRules.nonNegative("--warmup-epochs", warmupEpochs);
        OptionRules.positive("--knn-t", knnT);
        if (resuming) return; // the rest compares with defaults that a resumed run does not use
        if (cos && parsed.hasMatchedOption("--schedule")) {
            throw new OptionException("--schedule sets the x0.1 drops of the step schedule, which needs --no-cos (--cos is on)");
        }
        if (subset > 0 && subset < mocoOptions.batch) {
            throw new OptionException("--subset " + subset + " is fewer images than one --batch-size " + mocoOptions.batch);
        }
    }

    @Override
    public Integer call() {
        PrintStream log = System.out;
        ParseResult parsed = spec.commandLine().getParseResult();
        Checkpoint checkpoint = null;
        TrainConfig config = null;
        Path resumedDir = null;
        if (resume != null) {
            Path file = Files.isDirectory(resume) ? resume.resolve(Checkpoint.LAST) : resume;
            checkpoint = Checkpoint.read(file);
            resumedDir = file.toAbsolutePath().normalize().getParent();
            ResumeRules.check(parsed, checkpoint, file, Files.isRegularFile(resumedDir.resolve(Trainer.FINAL)));
            config = checkpoint.config();
            if (parsed.hasMatchedOption("--epochs")) config = config.withEpochs(epochs);
            if (!parsed.hasMatchedOption("--backend") && checkpoint.backend() != null) backend = checkpoint.backend();
            if (out == null) out = resumedDir;
            if (threads == 0 && checkpoint.threads() > 0) threads = checkpoint.threads();
            if (checkpoint.threads() > 0 && threads != checkpoint.threads()) {
                log.println("note: the checkpoint was written with " + checkpoint.threads() + " threads, this run uses " + threads
                        + "; the cpu backend's sums then run in another order, so the result will not be bit-identical");
            }
            log.println("resuming " + file + " at epoch " + checkpoint.epoch() + "/" + config.epochs());
        }
        Path dataDir = data != null ? data : resume != null ? Path.of(config.data()) : DEFAULT_DATA;
        checkDataDirectory(dataDir, resume != null && data == null);
        if (out == null) out = Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        checkRunDirectory(resumedDir == null || !resumedDir.equals(out.toAbsolutePath().normalize()));
        Backend b = openCl.backend(backend, threads);

        int channels = resume != null ? config.model().inChannels() : modelOptions.inChannels;
        int size = resume != null ? config.imageSize() : modelOptions.imageSize;
        long dataSeed = resume != null ? config.seed() : seed;
        int subsetN = resume != null ? config.subset() : subset;
        long t0 = System.nanoTime();
        Dataset train = Datasets.load(dataDir, Split.TRAIN, size, channels, subsetN, dataSeed);
        Dataset test = Datasets.load(dataDir, Split.TEST, size, channels);
        log.printf("data: %s, %d train and %d test images of %dx%dx%d, %d classes (%.1fs)%n", dataDir, train.n(), test.n(),
                train.channels(), train.height(), train.width(), train.numClasses(), (System.nanoTime() - t0) / 1e9);
        if (resume == null) {
            String preset = aug != null ? aug : augPlus ? "v2" : (channels == 1 ? "fashion" : "v1");
            config = new TrainConfig(modelOptions.model(), size, mocoOptions.k(), mocoOptions.m, mocoOptions.t, mocoOptions.devices,
                    mocoOptions.symmetric, mCos, mocoOptions.lr, mocoOptions.momentum, mocoOptions.wd, cos, schedule, epochs,
                    mocoOptions.batch, preset, seed, dataDir.toAbsolutePath().toString(), subset, knnK, knnT,
                    train.channelMean(), safeStd(train.channelStd()), mocoOptions.mechanism(), !mocoOptions.noShuffleBn, warmupEpochs);
            config.moco(); // refuses inconsistent K, batch and devices before any work
        } else if (!java.util.Arrays.equals(train.channelMean(), config.normalizeMean())) {
            throw new MocoRefException(dataDir + ": its training images are not the checkpoint's (channel mean "
                    + java.util.Arrays.toString(train.channelMean()) + ", the checkpoint's " + java.util.Arrays.toString(config.normalizeMean())
                    + ")");
        }
        if (detectAnomaly) b = b.detectingAnomalies();
        int usedThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        if (resume == null) {
            log.println("recipe: --preset " + presetName() + (presetApplied.isEmpty() ? " (every option at its own default)"
                    : ": " + presetApplied + " (options given on the command line win)"));
        }
        log.println("model: " + config);
        log.println("backend: " + b.name() + ", " + usedThreads + " threads; run directory: " + out);
        if (checkpoint == null && baselines) {
            long tb = System.nanoTime();
            Probes.Result raw;
            try (mocoref.train.Progress p = mocoref.train.Progress.start("raw-pixel baselines", Probes.rawPixelSteps(), log)) {
                raw = Probes.rawPixels(train, test, new Normalize(config.normalizeMean(), config.normalizeStd()),
                        config.knnK(), config.knnT(), config.seed(), usedThreads, p);
            }
            log.printf("raw pixels, for scale: kNN top-1 %.2f%%, linear probe top-1 %.2f%% (lr %s, wd %s chosen on held-out data) (%.0fs)%n",
                    100 * raw.knnTop1(), 100 * raw.linearTop1(), raw.linearLr(), raw.linearWd(), (System.nanoTime() - tb) / 1e9);
        }
        Trainer.EpochStats last = new Trainer(config, b, usedThreads, out, log, System.console() != null)
                .monitorSubsets(monitor, monitor).run(train, test, checkpoint);
        if (last != null) {
            log.printf("done: %d epochs, final kNN top-1 %.2f%%; checkpoints, metrics.jsonl and plots in %s%n",
                    last.epoch(), 100 * last.knnTop1(), out);
        }
        return 0;
    }

    /** A dataset directory that exists and holds a format moco-ref reads (the files themselves are read later). */
    private static void checkDataDirectory(Path dir, boolean fromCheckpoint) {
        if (!Files.isDirectory(dir)) {
            throw new MocoRefException(dir + ": no such dataset directory"
                    + (dir.equals(DEFAULT_DATA) ? " (the default is Debian's Fashion-MNIST: apt-get install dataset-fashion-mnist, or pass --data DIR)"
                    : fromCheckpoint ? " (the checkpoint's training data; if it has moved, pass --data DIR)" : ""));
        }
        Datasets.detect(dir);
    }

    /** --out must be a folder, or creatable as one; a run does not write over another run's checkpoints. */
    private void checkRunDirectory(boolean otherRun) {
        OutputPaths.checkFolder("--out", out);
        if (otherRun && Files.exists(out.resolve(Checkpoint.LAST))) {
            throw new MocoRefException(out + ": already holds a training run (" + Checkpoint.LAST + "); continue it with --resume "
                    + out + ", or choose another --out");
        }
    }

    static double[] safeStd(double[] std) {
        double[] s = std.clone();
        for (int i = 0; i < s.length; i++) if (!(s[i] > 0)) s[i] = 1; // a constant channel: leave it unscaled
        return s;
    }
}
