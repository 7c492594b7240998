package mocoref.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.data.Dataset;
import mocoref.data.Datasets;
import mocoref.data.Split;
import mocoref.train.Checkpoint;
import mocoref.data.augment.Normalize;
import mocoref.train.Plots;
import mocoref.train.Probes;
import mocoref.train.TrainConfig;
import mocoref.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref train}: MoCo pre-training with the options of {@code main_moco.py} and the CIFAR
 * demo. With no arguments it trains the default recipe on Fashion-MNIST.
 */
@Command(name = "train", description = "Pre-train a MoCo encoder (default: Fashion-MNIST, narrow ResNet-18).")
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    public static final Path DEFAULT_DATA = Path.of("/usr/share/datasets/fashion-mnist");

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    MocoOptions mocoOptions;

    @Mixin
    OpenClOptions openCl;

    @Option(names = "--epochs", defaultValue = "3", description = "epochs (default: ${DEFAULT-VALUE}: about 16 minutes on 2 cores, kNN included)")
    int epochs;

    @Option(names = "--cos", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "cosine learning-rate schedule (--no-cos: x0.1 at each --schedule epoch; default: ${DEFAULT-VALUE})")
    boolean cos;

    @Option(names = "--schedule", split = ",", defaultValue = "120,160", description = "epochs of the x0.1 drops without --cos (default: ${DEFAULT-VALUE})")
    int[] schedule;

    @Option(names = "--moco-m-cos", description = "cosine schedule of the momentum m from --moco-m to 1 over all steps")
    boolean mCos;

    @Option(names = "--aug-plus", description = "MoCo v2's augmentation (main_moco.py --aug-plus); same as --aug v2")
    boolean augPlus;

    @Option(names = "--aug", description = "augmentation preset: fashion, v1 or v2 (default: fashion for 1 channel, v1 for 3)")
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

    @Option(names = "--baselines", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "first print kNN and linear-probe accuracy on the raw pixels, for scale (default: ${DEFAULT-VALUE})")
    boolean baselines;

    @Option(names = "--detect-anomaly", description = "check every layer's outputs and gradients for NaN and infinity, and stop at the first, naming it (slow: for debugging)")
    boolean detectAnomaly;

    @Option(names = "--resume", description = "checkpoint file, or run directory (its checkpoint_last.safetensors), to continue")
    Path resume;

    @Option(names = "--out", description = "run directory (default: runs/<date-time>, or the resumed run's)")
    Path out;

    @Override
    public Integer call() {
        PrintStream log = System.out;
        Checkpoint checkpoint = null;
        TrainConfig config;
        if (resume != null) {
            Path file = Files.isDirectory(resume) ? resume.resolve("checkpoint_last.safetensors") : resume;
            checkpoint = Checkpoint.read(file);
            config = checkpoint.config();
            if (epochs != config.epochs() && isSet("--epochs")) config = config.withEpochs(epochs);
            if (out == null) out = file.toAbsolutePath().getParent();
            if (threads == 0 && checkpoint.threads() > 0) threads = checkpoint.threads();
            if (checkpoint.threads() > 0 && threads != checkpoint.threads()) {
                log.println("note: the checkpoint was written with " + checkpoint.threads() + " threads, this run uses " + threads
                        + "; the cpu backend's sums then run in another order, so the result will not be bit-identical");
            }
            log.println("resuming " + file + " at epoch " + checkpoint.epoch() + "/" + config.epochs());
        } else {
            config = null;
        }
        Path dataDir = resume != null ? Path.of(config.data()) : (data != null ? data : DEFAULT_DATA);
        if (!Files.isDirectory(dataDir)) {
            throw new MocoRefException(dataDir + ": no such dataset directory"
                    + (dataDir.equals(DEFAULT_DATA) ? " (the default is Debian's Fashion-MNIST: apt-get install dataset-fashion-mnist, or pass --data DIR)" : ""));
        }
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
                    train.channelMean(), safeStd(train.channelStd()), mocoOptions.mechanism(), !mocoOptions.noShuffleBn);
            config.moco(); // refuses inconsistent K, batch and devices before any work
            if (out == null) out = Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        Backend b = openCl.backend(backend, threads);
        if (detectAnomaly) b = b.detectingAnomalies();
        int usedThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        log.println("model: " + config);
        log.println("backend: " + b.name() + ", " + usedThreads + " threads; run directory: " + out);
        if (checkpoint != null) truncateMetrics(out.resolve(Plots.METRICS), checkpoint.epoch());
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
        Trainer.EpochStats last = new Trainer(config, b, usedThreads, out, log, System.console() != null).run(train, test, checkpoint);
        if (last != null) {
            log.printf("done: %d epochs, final kNN top-1 %.2f%%; checkpoints, metrics.jsonl and plots in %s%n",
                    last.epoch(), 100 * last.knnTop1(), out);
        }
        return 0;
    }

    private boolean isSet(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    static double[] safeStd(double[] std) {
        double[] s = std.clone();
        for (int i = 0; i < s.length; i++) if (!(s[i] > 0)) s[i] = 1; // a constant channel: leave it unscaled
        return s;
    }

    /** A resumed run rewrites the epochs after its checkpoint: drop their old lines. */
    private static void truncateMetrics(Path metrics, int epochsDone) {
        if (!Files.isRegularFile(metrics)) return;
        try {
            List<String> keep = Files.readAllLines(metrics).stream().filter(l -> {
                var m = java.util.regex.Pattern.compile("\"epoch\":(\\d+)").matcher(l);
                return m.find() && Integer.parseInt(m.group(1)) <= epochsDone;
            }).toList();
            Files.write(metrics, keep);
        } catch (IOException e) {
            throw new MocoRefException(metrics + ": cannot rewrite (" + e.getMessage() + ")");
        }
    }
}
