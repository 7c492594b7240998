package mocoref.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.ablation.Study;
import mocoref.ablation.StudyReport;
import mocoref.ablation.StudyRunner;
import mocoref.backend.ImageBatch;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.data.Dataset;
import mocoref.data.Datasets;
import mocoref.data.Split;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.registry.Backends;
import mocoref.tensor.Permutations;
import mocoref.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref ablate STUDY}: one of the paper's ablations as a series of short training runs
 * on one loaded dataset, then a table (Markdown and CSV) and a plot. Resumable: rerun the same
 * command and it continues where it stopped.
 */
@Command(name = "ablate", description = {
    "Rerun one of the paper's ablations: several short trainings, then a table and a plot.",
    "STUDY is one of:",
    "  momentum    key-encoder momentum m in 0, 0.9, 0.99, 0.999, 0.9999",
    "  mechanism   end-to-end, memory bank and MoCo over K in 256, 1024, 4096, 16384",
    "  shuffle-bn  MoCo with and without shuffling BN",
    "  queue-size  MoCo over K in 256, 1024, 4096, 16384"})
public final class AblateCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STUDY", description = "momentum, mechanism, shuffle-bn or queue-size")
    String studyName;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    MocoOptions mocoOptions;

    @Option(names = "--epochs", description = "epochs per run (default 2, or what --budget allows)")
    Integer epochs;

    @Option(names = "--seeds", defaultValue = "2", description = "runs per setting, seeds --seed, --seed+1, ... (default: ${DEFAULT-VALUE})")
    int seeds;

    @Option(names = "--budget", description = "minutes for the whole study: sizes --epochs from a short timing of each setting")
    Double budget;

    @Option(names = "--sizes", split = ",", description = "the size studies' K values (default: 256,1024,4096,16384; end-to-end takes those up to 1024)")
    int[] sizes;

    @Option(names = "--subset", defaultValue = "10000", description = "train on a class-balanced subset of N images (0: all; default: ${DEFAULT-VALUE})")
    int subset;

    @Option(names = "--monitor", defaultValue = "2000", description = "between epochs, kNN on balanced subsets of this many train and test images (0: all; default: ${DEFAULT-VALUE})")
    int monitor;

    @Option(names = "--aug", description = "augmentation preset: fashion, v1 or v2 (default: fashion for 1 channel, v1 for 3); fashion takes knobs: fashion:crop=0.5,flip=0.5,jitter=0.4,pjitter=0.8,blur=0,erase=0.25")
    String aug;

    @Option(names = "--seed", defaultValue = "0", description = "first seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--backend", defaultValue = "cpu", description = "reference, cpu (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--threads", defaultValue = "0", description = "threads of the backend (0: all cores)")
    int threads;

    @Option(names = "--data", description = "dataset directory (default: /usr/share/datasets/fashion-mnist)")
    Path data;

    @Option(names = "--out", description = "study directory (default: ablations/<study>)")
    Path out;

    @Override
    public void checkOptions(picocli.CommandLine.ParseResult parsed) {
        OptionRules.parses("STUDY", () -> Study.parse(studyName));
        OptionRules.atLeast("--seeds", seeds, 1);
        if (epochs != null) OptionRules.atLeast("--epochs", epochs, 1);
        if (budget != null) OptionRules.positive("--budget", budget);
        if (epochs != null && budget != null) throw new OptionException("--epochs and --budget both size the runs: give one");
        OptionRules.atLeast("--subset", subset, 0);
        OptionRules.atLeast("--monitor", monitor, 0);
        if (sizes != null) for (int k : sizes) OptionRules.atLeast("--sizes", k, 2);
        if (aug != null) OptionRules.parses("--aug", () -> mocoref.data.augment.AugmentPresets.parse(aug));
        OptionRules.backendAndThreads(backend, threads);
        if (subset > 0 && subset < mocoOptions.batch) {
            throw new OptionException("--subset " + subset + " is fewer images than one --batch-size " + mocoOptions.batch);
        }
    }

    @Override
    public Integer call() throws IOException {
        PrintStream log = System.out;
        Study study = Study.parse(studyName);
        Path dataDir = data != null ? data : TrainCommand.DEFAULT_DATA;
        if (!Files.isDirectory(dataDir)) throw new MocoRefException(dataDir + ": no such dataset directory");
        mocoref.data.Datasets.detect(dataDir);
        Path dir = out != null ? out : Path.of("ablations", study.id);
        OutputPaths.checkFolder("--out", dir);
        int channels = modelOptions.inChannels, size = modelOptions.imageSize;
        String preset = aug != null ? aug : channels == 1 ? "fashion" : "v1";
        long t0 = System.nanoTime();
        Dataset train = Datasets.load(dataDir, Split.TRAIN, size, channels, subset, seed);
        Dataset test = Datasets.load(dataDir, Split.TEST, size, channels);
        log.printf("data: %s, %d train and %d test images, loaded once for the study (%.1fs)%n", dataDir, train.n(), test.n(),
                (System.nanoTime() - t0) / 1e9);
        TrainConfig base = new TrainConfig(modelOptions.model(), size, mocoOptions.k(), mocoOptions.m, mocoOptions.t, mocoOptions.devices,
                mocoOptions.symmetric, false, mocoOptions.lr, mocoOptions.momentum, mocoOptions.wd, true, new int[0], 1,
                mocoOptions.batch, preset, seed, dataDir.toAbsolutePath().toString(), subset, 200, 0.1, train.channelMean(),
                TrainCommand.safeStd(train.channelStd()));
        int[] ks = sizes != null ? sizes : Study.SIZES;
        List<Study.Setting> settings = study.settings(base, ks);
        for (Study.Setting s : settings) {
            s.config().moco(); // every setting's numbers must agree before anything runs
            if (train.n() < s.config().batch()) {
                throw new MocoRefException("--subset " + train.n() + " is smaller than " + s.label() + "'s batch of " + s.config().batch());
            }
        }
        int perRun = epochs != null ? epochs : budget != null ? epochsFor(settings, train.n(), budget, log) : 2;
        log.printf("study %s: %d settings x %d seeds, %d epochs each, on %s; results in %s%n", study.id, settings.size(), seeds, perRun,
                backend, dir);
        long start = System.nanoTime();
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        List<StudyRunner.RunResult> results = new StudyRunner(study, dir, train, test, () -> Backends.byName(backend, threads), t,
                monitor, monitor, log).run(settings, perRun, seeds);
        double thisCall = (System.nanoTime() - start) / 1e9;
        double wall = results.stream().mapToDouble(StudyRunner.RunResult::wallS).sum();
        List<StudyReport.Row> rows = StudyReport.summarize(settings, results);
        String command = "moco-ref " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        Files.writeString(dir.resolve(study.id + ".md"), StudyReport.markdown(study, rows, command, wall, machine()));
        Files.writeString(dir.resolve(study.id + ".csv"), StudyReport.csv(rows));
        StudyReport.plot(study, rows, dir.resolve(study.id + ".png"));
        for (StudyReport.Row r : rows) {
            log.printf("%-40s kNN %s  linear %s  pretext %s%n", r.setting().label(), r.knn().format(), r.linear().format(),
                    r.contrastive().format());
        }
        log.printf("done in %.1f minutes (runs: %.1f minutes): %s, .csv and .png in %s%n", thisCall / 60, wall / 60, study.id + ".md",
                dir);
        return 0;
    }

    /**
     * Epochs that fit {@code minutes}: each setting's step timed on random images (two warm-up steps,
     * then three), times its steps per epoch and seeds; the monitor and the final protocol are
     * estimated at a tenth of the training time on top.
     */
    private int epochsFor(List<Study.Setting> settings, int trainImages, double minutes, PrintStream log) {
        double perEpoch = 0;
        for (Study.Setting s : settings) {
            MocoConfig c = s.config().moco();
            int bank = Math.max(trainImages, c.batch());
            double stepS;
            try (MocoModel m = Backends.byName(backend, threads).create(c, FreshState.of(c, 1, bank), "timing")) {
                Random rng = new Random(1);
                int n = c.batch(), per = c.image()[0] * c.image()[1] * c.image()[2];
                float[] x = new float[n * per];
                for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
                ImageBatch im = ImageBatch.of(x, n, c.image()[0], c.image()[1], c.image()[2]);
                long t0 = 0;
                for (int i = 0; i < 5; i++) {
                    if (i == 2) t0 = System.nanoTime();
                    int[] index = java.util.Arrays.copyOf(Permutations.random(rng, bank), n);
                    m.step(new StepInput(im, im, Permutations.random(rng, n), c.symmetric() ? Permutations.random(rng, n) : null,
                            c.m(), c.lr(), false, index, rng.ints(c.K(), 0, bank).toArray()));
                }
                stepS = (System.nanoTime() - t0) / 1e9 / 3;
            }
            perEpoch += seeds * (trainImages / c.batch()) * stepS * 1.1;
            log.printf("timing: %s %.2fs a step%n", s.label(), stepS);
        }
        int e = (int) Math.max(1, Math.floor(minutes * 60 / perEpoch));
        log.printf("budget %.0f minutes: %.1f minutes an epoch of the whole study -> %d epochs%n", minutes, perEpoch / 60, e);
        return e;
    }

    static String machine() {
        String model = "?";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    model = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            model = System.getProperty("os.arch");
        }
        return Runtime.getRuntime().availableProcessors() + " cores of " + model;
    }
}
