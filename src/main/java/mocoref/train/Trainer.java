package mocoref.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import mocoref.MocoRefException;
import mocoref.Phases;
import mocoref.backend.Backend;
import mocoref.backend.Diverged;
import mocoref.backend.Encoder;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.data.Dataset;
import mocoref.data.SampleSeeds;
import mocoref.data.TwoViewBatch;
import mocoref.data.TwoViewBatchLoader;
import mocoref.data.augment.AugmentPresets;
import mocoref.data.augment.Normalize;
import mocoref.eval.FeatureExtractor;
import mocoref.eval.Knn;
import mocoref.eval.KnnResult;
import mocoref.io.AtomicFiles;
import mocoref.model.FreshState;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.tensor.Permutations;
import mocoref.backend.ImageBatch;

/**
 * The training loop of {@code main_moco.py}, with the CIFAR demo's kNN monitor: per epoch, the
 * learning rate from the schedule, one MoCo step per two-view batch (drop-last), then a kNN
 * evaluation of encoder_q's features, a checkpoint, a metrics line and the plots.
 *
 * <p>Every random draw derives from (seed, epoch, position) or (seed, step): the loader's
 * augmentations and shuffles, and each step's key shuffle. A run resumed from a checkpoint
 * therefore continues exactly as the uninterrupted run would have (with the same thread count,
 * which fixes the cpu backend's order of summation).
 */
public final class Trainer {
    /** The read-outs of a finished run: kNN and linear-probe accuracy. */
    public static final String FINAL = "final.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrainConfig config;
    private final Backend backend;
    private final int threads;
    private final Path out;
    private final PrintStream log;
    private final boolean progressBar;
    private java.util.List<String> classNames = java.util.List.of();
    /** The kNN monitor's bank and queries between epochs: balanced subsets of these sizes (0: all); the last epoch uses all. */
    private int monitorTrain, monitorTest;
    private java.util.function.LongConsumer stepListener = step -> { };

    public Trainer(TrainConfig config, Backend backend, int threads, Path out, PrintStream log, boolean progressBar) {
        this.config = config;
        this.backend = backend;
        this.threads = threads;
        this.out = out;
        this.log = log;
        this.progressBar = progressBar;
    }

    /**
     * Runs the kNN monitor of every epoch but the last on balanced subsets of {@code trainImages}
     * (the bank) and {@code testImages} (the queries), 0 meaning all: a cheaper monitor for the
     * short runs of a study; the last epoch's kNN and the linear probe always use both whole splits.
     */
    public Trainer monitorSubsets(int trainImages, int testImages) {
        this.monitorTrain = trainImages;
        this.monitorTest = testImages;
        return this;
    }

    /** Called with the global step count after every training step (a study's progress). */
    public Trainer onStep(java.util.function.LongConsumer listener) {
        this.stepListener = listener;
        return this;
    }

    /** What one epoch measured, as written to metrics.jsonl. */
    public record EpochStats(int epoch, long step, double loss, double contrastiveAcc, double knnTop1, double knnTop5,
                             double lr, double momentum, double imagesPerS, double epochS, double dataWaitFraction) {}

    /**
     * Trains from {@code resume} (or from a fresh state) to {@code config.epochs()}, returning the
     * last epoch's statistics. {@code train} and {@code test} are the loaded splits.
     */
    public EpochStats run(Dataset train, Dataset test, Checkpoint resume) {
        return run(train, test, resume, config.epochs());
    }

    /** Trains as {@link #run(Dataset, Dataset, Checkpoint)} but stops after epoch {@code untilEpoch}, as an interrupted run would. */
    public EpochStats run(Dataset train, Dataset test, Checkpoint resume, int untilEpoch) {
        MocoConfig moco = config.moco();
        Normalize normalize = new Normalize(config.normalizeMean(), config.normalizeStd());
        var augmentation = AugmentPresets.byName(config.aug(), config.imageSize(), normalize);
        int startEpoch = resume == null ? 0 : resume.epoch();
        long step = resume == null ? 0 : resume.step();
        Map<String, StoredTensor> init = resume == null ? FreshState.of(moco, config.seed(), train.n()) : resume.state();
        MocoModel model = backend.create(moco, init, resume == null ? "initial state" : "checkpoint");
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new MocoRefException(out + ": cannot create the run directory (" + e.getMessage() + ")");
        }
        classNames = test.classes();
        List<String> metrics = startMetrics(resume);
        EpochStats last = null;
        try (TwoViewBatchLoader loader = new TwoViewBatchLoader(train, augmentation, config.batch(), config.seed())) {
            int stepsPerEpoch = loader.batchesPerEpoch();
            if (stepsPerEpoch == 0) {
                throw new MocoRefException("the train set has " + train.n() + " images, fewer than one batch of " + config.batch());
            }
            long totalSteps = (long) stepsPerEpoch * config.epochs();
            long runStart = System.nanoTime();
            for (int epoch = startEpoch; epoch < Math.min(untilEpoch, config.epochs()); epoch++) {
                double lr = config.learningRate(epoch);
                long epochStart = System.nanoTime();
                long waitNanos = 0;
                double lossSum = 0, accSum = 0, m = config.m();
                Iterator<TwoViewBatch> batches = loader.epoch(epoch);
                String task = String.format("epoch %d/%d", epoch + 1, config.epochs());
                try (Progress progress = progressBar ? Progress.start(task, stepsPerEpoch, log) : Progress.lines(task, stepsPerEpoch, log)) {
                    for (int i = 0; i < stepsPerEpoch; i++) {
                        long w0 = System.nanoTime();
                        TwoViewBatch batch = batches.next();
                        waitNanos += System.nanoTime() - w0;
                        m = config.momentumAt(step, totalSteps);
                        SplittableRandom rng = new SplittableRandom(SampleSeeds.sample(config.seed() ^ 0x6b65797368756666L, 0, step));
                        int[] idx = Permutations.random(rng, config.batch());
                        int[] idx2 = config.symmetric() ? Permutations.random(rng, config.batch()) : null;
                        int[] negatives = null; // the memory bank's: K rows of the bank, uniform with replacement
                        if (moco.mechanism() == MocoConfig.Mechanism.MEMORY_BANK) {
                            negatives = new int[moco.K()];
                            for (int j = 0; j < negatives.length; j++) negatives[j] = rng.nextInt(train.n());
                        }
                        Phases.mark("step " + step);
                        StepResult r;
                        try {
                            lr = config.learningRate(step, stepsPerEpoch); // the epoch's, or less during a warm-up
                            r = model.step(new StepInput(images(batch.imQ(), batch), images(batch.imK(), batch), idx, idx2, m, lr,
                                    false, batch.indices(), negatives));
                        } catch (Diverged e) { // --detect-anomaly found the layer
                            throw new Diverged("epoch " + (epoch + 1) + ", step " + step + ": " + e.getMessage());
                        }
                        if (!Double.isFinite(r.loss())) {
                            throw new Diverged("the loss became " + r.loss() + " at epoch " + (epoch + 1) + ", step " + step + " (lr " + lr
                                    + "): training diverged (" + java.util.Objects.requireNonNullElse(firstNonFinite(model.state()),
                                    "every parameter and buffer is still finite: the loss itself overflowed")
                                    + "); the last good checkpoint is kept; "
                                    + "--detect-anomaly names the first layer that goes non-finite");
                        }
                        lossSum += r.loss();
                        accSum += r.accuracy();
                        step++;
                        stepListener.accept(step);
                        double secs = (System.nanoTime() - epochStart) / 1e9;
                        progress.step(1, String.format("loss %.3f  acc %5.1f%%  %4.0f img/s  lr %.4f",
                                lossSum / (i + 1), 100 * accSum / (i + 1), (i + 1) * config.batch() / secs, lr));
                    }
                }
                double epochS = (System.nanoTime() - epochStart) / 1e9;
                double trainS = epochS;
                int done = epoch + 1;
                boolean lastEpoch = done == config.epochs();
                Phases.mark("eval " + done);
                FeatureExtractor.Features[] f = lastEpoch ? features(model, train, test, normalize)
                        : features(model, subset(train, monitorTrain), subset(test, monitorTest), normalize);
                KnnResult knn = Probes.knn(f[0], f[1], train.numClasses(), config.knnK(), config.knnT(), threads);
                last = new EpochStats(done, step, lossSum / stepsPerEpoch, accSum / stepsPerEpoch, knn.top1(), knn.top5(),
                        lr, m, stepsPerEpoch * (double) config.batch() / trainS, (System.nanoTime() - epochStart) / 1e9,
                        waitNanos / 1e9 / trainS);
                metrics.add(metricsLine(last, (System.nanoTime() - runStart) / 1e9));
                saveEpoch(done, step, model, metrics);
                double elapsed = (System.nanoTime() - runStart) / 1e9;
                double eta = elapsed / (done - startEpoch) * (config.epochs() - done);
                // m only where there is a key encoder for it to move (end-to-end and the memory bank have none)
                String momentum = config.mechanism() == MocoConfig.Mechanism.MOCO ? String.format("  m %.4f", m) : "";
                log.printf("epoch %3d/%d  loss %.4f  contrastive acc %5.1f%%  kNN top-1 %5.2f%%  lr %.4f%s  %5.0f img/s  %5.0fs  ETA %s%n",
                        done, config.epochs(), last.loss(), 100 * last.contrastiveAcc(), 100 * knn.top1(), lr, momentum,
                        last.imagesPerS(), last.epochS(), duration(eta));
                Plots.drawAll(out);
                if (done == config.epochs()) finish(f, train.numClasses(), knn);
            }
            if (resume != null && startEpoch == config.epochs()) {
                // Killed after its last checkpoint but before final.json: only the read-outs are left to do.
                Phases.mark("eval " + startEpoch);
                FeatureExtractor.Features[] f = features(model, train, test, normalize);
                finish(f, train.numClasses(), Probes.knn(f[0], f[1], train.numClasses(), config.knnK(), config.knnT(), threads));
            }
            Plots.drawAll(out);
        }
        return last;
    }

    /** The first tensor of a state holding a NaN or an infinity, said in words; null when every one is finite. */
    static String firstNonFinite(Map<String, StoredTensor> state) {
        for (Map.Entry<String, StoredTensor> e : state.entrySet()) {
            if (e.getValue().dtype() == mocoref.io.DType.I64) continue;
            double[] v = e.getValue().toDoubles();
            for (int i = 0; i < v.length; i++) {
                if (!Double.isFinite(v[i])) return e.getKey() + " holds " + v[i] + " (element " + i + ")";
            }
        }
        return null;
    }

    private Dataset subset(Dataset d, int n) {
        return n <= 0 || n >= d.n() ? d : d.balancedSubset(n, config.seed());
    }

    /** encoder_q's eval-mode features of both splits: the kNN monitor's bank and queries (the CIFAR demo's monitor). */
    private FeatureExtractor.Features[] features(MocoModel model, Dataset train, Dataset test, Normalize normalize) {
        Encoder encoder = model.encoderQ();
        try (Progress p = Progress.start("features for kNN", train.n() + test.n(), log)) {
            int[] seen = {0};
            FeatureExtractor.Features tr = FeatureExtractor.extract(encoder, train, normalize, FeatureExtractor.DEFAULT_BATCH, done -> {
                p.step(done - seen[0]);
                seen[0] = done;
            });
            seen[0] = 0;
            FeatureExtractor.Features te = FeatureExtractor.extract(encoder, test, normalize, FeatureExtractor.DEFAULT_BATCH, done -> {
                p.step(done - seen[0]);
                seen[0] = done;
            });
            return new FeatureExtractor.Features[] {tr, te};
        }
    }

    /** After the last epoch: the linear probe, the test features for the PCA plot, and final.json. */
    private void finish(FeatureExtractor.Features[] f, int classes, KnnResult knn) {
        long t0 = System.nanoTime();
        mocoref.eval.LinearEval.Selection probe;
        try (Progress p = Progress.start("linear probe", Probes.linearSteps(), log)) {
            probe = Probes.linear(f[0], f[1], classes, config.seed(), threads, p);
        }
        double linear = probe.result().last().top1();
        log.printf("linear probe (cached features, %d epochs, main_lincls.py's SGD; lr %s and wd %s chosen on a held-out tenth of "
                + "the train set): top-1 %.2f%% (%.0fs)%n", Probes.LINEAR_EPOCHS, probe.lr(), probe.weightDecay(), 100 * linear,
                (System.nanoTime() - t0) / 1e9);
        long[] labels = new long[f[1].n()];
        for (int i = 0; i < labels.length; i++) labels[i] = f[1].labels()[i];
        Map<String, StoredTensor> t = new java.util.LinkedHashMap<>();
        t.put("features", StoredTensor.f32(f[1].features(), f[1].n(), f[1].featureDim()));
        t.put("labels", StoredTensor.i64(labels, labels.length));
        SafeTensors.write(out.resolve(Plots.TEST_FEATURES), t, Map.of("classes", String.join(",", classNames)));
        ObjectNode o = JSON.createObjectNode();
        o.put("knn_top1", knn.top1());
        o.put("knn_top5", knn.top5());
        o.put("linear_top1", linear);
        o.put("linear_lr", probe.lr());
        o.put("linear_wd", probe.weightDecay());
        AtomicFiles.writeString(out.resolve(FINAL), o.toPrettyString() + "\n");
    }

    /**
     * Epoch {@code done}'s checkpoints, then its line of metrics.jsonl. The checkpoint carries every
     * metrics line so far, so a crash between the two loses nothing: a resume rewrites the file from it.
     * A checkpoint that cannot be written stops the run; the previous one is untouched.
     */
    private void saveEpoch(int done, long step, MocoModel model, List<String> metrics) {
        Map<String, StoredTensor> state = model.state();
        String bad = firstNonFinite(state);
        if (bad != null) { // never overwrite a good checkpoint with a broken state
            throw new Diverged("after epoch " + done + ", step " + step + ": " + bad + "; the last good checkpoint is kept");
        }
        Checkpoint cp = new Checkpoint(config, done, step, threads, backend.name(), List.copyOf(metrics), state);
        Phases.mark("checkpoint " + done);
        try {
            cp.write(out.resolve(Checkpoint.epochFile(done)));
            cp.write(out.resolve(Checkpoint.LAST));
        } catch (MocoRefException e) {
            throw new MocoRefException(e.getMessage() + "; the run stops after epoch " + done + " without its checkpoint"
                    + (done > 1 ? " (the last good one, of epoch " + (done - 1) + ", is kept)" : ""), e);
        }
        Phases.mark("metrics " + done);
        try {
            Files.writeString(out.resolve(Plots.METRICS), metrics.get(metrics.size() - 1) + "\n", StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new MocoRefException(out.resolve(Plots.METRICS) + ": cannot write (" + e.getMessage() + ")");
        }
    }

    /**
     * metrics.jsonl's lines of the epochs done, written afresh (atomically): a resumed run continues
     * its checkpoint's lines, whatever a crash left in the file, so no epoch is missing or doubled; a
     * new run starts the file empty. Temporary files of a killed writer are removed first.
     */
    private List<String> startMetrics(Checkpoint resume) {
        Path file = out.resolve(Plots.METRICS);
        try (var files = Files.list(out)) {
            for (Path p : files.filter(AtomicFiles::isLeftover).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new MocoRefException(out + ": cannot list the run directory (" + e.getMessage() + ")");
        }
        List<String> lines = new ArrayList<>();
        if (resume != null) lines.addAll(resume.metrics() != null ? resume.metrics() : linesUpTo(file, resume.epoch()));
        AtomicFiles.writeString(file, lines.isEmpty() ? "" : String.join("\n", lines) + "\n");
        return lines;
    }

    /** For checkpoints that do not carry their metrics: the file's lines of epochs up to {@code epochsDone}. */
    private static List<String> linesUpTo(Path metrics, int epochsDone) {
        if (!Files.isRegularFile(metrics)) return List.of();
        try {
            return Files.readAllLines(metrics).stream().filter(l -> {
                var m = java.util.regex.Pattern.compile("\"epoch\":(\\d+)").matcher(l);
                return m.find() && Integer.parseInt(m.group(1)) <= epochsDone;
            }).toList();
        } catch (IOException e) {
            throw new MocoRefException(metrics + ": cannot read (" + e.getMessage() + ")");
        }
    }

    private static String metricsLine(EpochStats s, double wallS) {
        ObjectNode o = JSON.createObjectNode();
        o.put("epoch", s.epoch());
        o.put("step", s.step());
        o.put("loss", s.loss());
        o.put("contrastive_acc", s.contrastiveAcc());
        o.put("knn_top1", s.knnTop1());
        o.put("knn_top5", s.knnTop5());
        o.put("lr", s.lr());
        o.put("moco_m", s.momentum());
        o.put("images_per_s", s.imagesPerS());
        o.put("epoch_s", s.epochS());
        o.put("data_wait_fraction", s.dataWaitFraction());
        o.put("wall_s", wallS);
        return o.toString();
    }

    private static ImageBatch images(float[] images, TwoViewBatch b) {
        return ImageBatch.of(images, b.size(), b.channels(), b.height(), b.width());
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s % 3600 / 60) : String.format("%dm%02ds", s / 60, s % 60);
    }
}
