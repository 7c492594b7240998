package mocoref.ablation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.data.Dataset;
import mocoref.train.Checkpoint;
import mocoref.backend.Diverged;
import mocoref.train.Plots;
import mocoref.train.Progress;
import mocoref.train.TrainConfig;
import mocoref.train.Trainer;

/**
 * Runs every (setting, seed) of a study on one loaded dataset, each in its own run directory
 * {@code out/<setting>/seed<s>/} with a {@code result.json} once complete, so that a study stopped
 * anywhere continues where it stopped: complete runs are read back, an interrupted one resumes
 * from its last checkpoint. Between epochs the kNN monitor uses balanced subsets (cheap); at the
 * end of every run, the full protocol (kNN on the whole train split as bank, and the linear probe).
 * A run whose loss turns NaN is recorded as "fail", as the paper reports m = 0.
 */
public final class StudyRunner {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One run's outcome: "ok" with its accuracies, or "fail" (diverged). */
    public record RunResult(String setting, long seed, String status, double knnTop1, double linearTop1, double contrastiveAcc,
                            double loss, double wallS, int epochs) {
        boolean ok() {
            return status.equals("ok");
        }
    }

    private final Study study;
    private final Path out;
    private final Dataset train, test;
    private final Supplier<Backend> backend;
    private final int threads;
    private final int monitorTrain, monitorTest;
    private final PrintStream log;

    public StudyRunner(Study study, Path out, Dataset train, Dataset test, Supplier<Backend> backend, int threads,
                       int monitorTrain, int monitorTest, PrintStream log) {
        this.study = study;
        this.out = out;
        this.train = train;
        this.test = test;
        this.backend = backend;
        this.threads = threads;
        this.monitorTrain = monitorTrain;
        this.monitorTest = monitorTest;
        this.log = log;
    }

    /** Runs (or reads back) every setting for seeds setting.seed .. +seeds-1, {@code epochs} each. */
    public List<RunResult> run(List<Study.Setting> settings, int epochs, int seeds) {
        long totalSteps = 0;
        for (Study.Setting s : settings) totalSteps += (long) seeds * epochs * (train.n() / s.config().batch());
        List<RunResult> results = new ArrayList<>();
        try (Progress progress = Progress.start("study " + study.id, totalSteps, log)) {
            for (Study.Setting s : settings) {
                for (int k = 0; k < seeds; k++) {
                    long seed = s.config().seed() + k;
                    TrainConfig cfg = reseed(s.config(), seed).withEpochs(epochs);
                    long runSteps = (long) epochs * (train.n() / cfg.batch());
                    results.add(runOne(s, cfg, seed, runSteps, progress));
                }
            }
        }
        return results;
    }

    private RunResult runOne(Study.Setting s, TrainConfig cfg, long seed, long runSteps, Progress progress) {
        Path dir = out.resolve(s.id()).resolve("seed" + seed);
        Path resultFile = dir.resolve("result.json");
        String tag = s.label() + ", seed " + seed;
        if (Files.isRegularFile(resultFile)) {
            RunResult r = read(resultFile);
            progress.skip(runSteps, tag + ": done before");
            return r;
        }
        Checkpoint resume = null;
        Path last = dir.resolve("checkpoint_last.safetensors");
        if (Files.isRegularFile(last)) {
            resume = Checkpoint.read(last);
            if (resume.epoch() >= cfg.epochs()) resume = null; // an earlier, shorter study: start over
        }
        long before = resume == null ? 0 : resume.step();
        progress.skip(before, tag);
        long[] seen = {before};
        long t0 = System.nanoTime();
        RunResult r;
        try (PrintStream runLog = new PrintStream(Files.newOutputStream(dir(dir).resolve("train.log")), true)) {
            Trainer trainer = new Trainer(cfg, backend.get(), threads, dir, runLog, false)
                    .monitorSubsets(monitorTrain, monitorTest)
                    .onStep(step -> {
                        progress.step(step - seen[0], tag);
                        seen[0] = step;
                    });
            trainer.run(train, test, resume);
            JsonNode fin = JSON.readTree(dir.resolve("final.json").toFile());
            Trainer.EpochStats lastEpoch = lastMetrics(dir);
            r = new RunResult(s.id(), seed, "ok", fin.get("knn_top1").asDouble(), fin.get("linear_top1").asDouble(),
                    lastEpoch.contrastiveAcc(), lastEpoch.loss(), (System.nanoTime() - t0) / 1e9, cfg.epochs());
        } catch (Diverged e) {
            log.println(tag + ": " + e.getMessage());
            r = new RunResult(s.id(), seed, "fail", Double.NaN, Double.NaN, Double.NaN, Double.NaN, (System.nanoTime() - t0) / 1e9,
                    cfg.epochs());
            progress.step(runSteps - seen[0], tag + ": fail");
        } catch (IOException e) {
            throw new MocoRefException(dir + ": " + e.getMessage());
        }
        write(resultFile, r);
        return r;
    }

    private static Path dir(Path d) throws IOException {
        Files.createDirectories(d);
        return d;
    }

    private static TrainConfig reseed(TrainConfig c, long seed) {
        return new TrainConfig(c.model(), c.imageSize(), c.K(), c.m(), c.T(), c.devices(), c.symmetric(), c.mCos(), c.lr(), c.momentum(),
                c.weightDecay(), c.cos(), c.schedule(), c.epochs(), c.batch(), c.aug(), seed, c.data(), c.subset(), c.knnK(), c.knnT(),
                c.normalizeMean(), c.normalizeStd(), c.mechanism(), c.shuffleBn());
    }

    private static Trainer.EpochStats lastMetrics(Path dir) throws IOException {
        List<String> lines = Files.readAllLines(dir.resolve(Plots.METRICS));
        JsonNode o = JSON.readTree(lines.get(lines.size() - 1));
        return new Trainer.EpochStats(o.get("epoch").asInt(), o.get("step").asLong(), o.get("loss").asDouble(),
                o.get("contrastive_acc").asDouble(), o.get("knn_top1").asDouble(), o.get("knn_top5").asDouble(), o.get("lr").asDouble(),
                o.get("moco_m").asDouble(), o.get("images_per_s").asDouble(), o.get("epoch_s").asDouble(),
                o.get("data_wait_fraction").asDouble());
    }

    static void write(Path file, RunResult r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("setting", r.setting());
        o.put("seed", r.seed());
        o.put("status", r.status());
        number(o, "knn_top1", r.knnTop1());
        number(o, "linear_top1", r.linearTop1());
        number(o, "contrastive_acc", r.contrastiveAcc());
        number(o, "loss", r.loss());
        o.put("wall_s", r.wallS());
        o.put("epochs", r.epochs());
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, o.toPrettyString() + "\n");
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new MocoRefException(file + ": cannot write (" + e.getMessage() + ")");
        }
    }

    /** JSON has no NaN: a failed run's numbers are null. */
    private static void number(ObjectNode o, String name, double v) {
        if (Double.isFinite(v)) o.put(name, v);
        else o.putNull(name);
    }

    private static double number(JsonNode o, String name) {
        JsonNode v = o.get(name);
        return v == null || v.isNull() ? Double.NaN : v.asDouble();
    }

    static RunResult read(Path file) {
        try {
            JsonNode o = JSON.readTree(file.toFile());
            return new RunResult(o.get("setting").asText(), o.get("seed").asLong(), o.get("status").asText(), number(o, "knn_top1"),
                    number(o, "linear_top1"), number(o, "contrastive_acc"), number(o, "loss"), o.get("wall_s").asDouble(),
                    o.get("epochs").asInt());
        } catch (IOException | RuntimeException e) {
            throw new MocoRefException(file + ": unreadable study result (" + e.getMessage() + ")");
        }
    }

    /** A stream that swallows output (a run's log when nobody reads it). */
    static PrintStream quiet() {
        return new PrintStream(OutputStream.nullOutputStream());
    }
}
