package mocoref.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import mocoref.MocoRefException;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;

/**
 * Everything that determines a training run, as {@code main_moco.py}'s arguments plus what moco-ref
 * adds (logical devices, backend). Stored as JSON in every checkpoint so that {@code --resume}
 * continues the same run and the evaluation commands know the model and the normalization.
 *
 * @param schedule       epochs at which lr drops x0.1 when {@code cos} is false (main_moco.py's --schedule)
 * @param mCos           cosine schedule of the key-encoder momentum from m to 1 over all steps
 * @param aug            augmentation preset: fashion, v1 or v2 (v2 = main_moco.py's --aug-plus)
 * @param subset         class-balanced subset of the train set (0: all of it)
 * @param normalizeMean  per-channel mean of the train set, applied after augmentation
 * @param mechanism      MoCo, end-to-end or the memory bank (the paper's comparison)
 * @param shuffleBn      whether keys are shuffled across the logical devices (off: the "cheating" ablation)
 * @param warmupEpochs   the learning rate rises linearly from 0 over this many epochs (by step), then
 *                       follows its schedule (0: none, main_moco.py's)
 */
public record TrainConfig(
        ResNetConfig model, int imageSize,
        int K, double m, double T, int devices, boolean symmetric, boolean mCos,
        double lr, double momentum, double weightDecay, boolean cos, int[] schedule,
        int epochs, int batch, String aug, long seed, String data, int subset,
        int knnK, double knnT,
        double[] normalizeMean, double[] normalizeStd, MocoConfig.Mechanism mechanism, boolean shuffleBn, double warmupEpochs) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** MoCo with shuffled BatchNorm. */
    public TrainConfig(ResNetConfig model, int imageSize, int K, double m, double T, int devices, boolean symmetric, boolean mCos,
                       double lr, double momentum, double weightDecay, boolean cos, int[] schedule, int epochs, int batch,
                       String aug, long seed, String data, int subset, int knnK, double knnT, double[] normalizeMean,
                       double[] normalizeStd) {
        this(model, imageSize, K, m, T, devices, symmetric, mCos, lr, momentum, weightDecay, cos, schedule, epochs, batch, aug,
                seed, data, subset, knnK, knnT, normalizeMean, normalizeStd, MocoConfig.Mechanism.MOCO, true, 0);
    }

    /** A run of {@code mechanism}, with or without shuffle BN, and no warm-up. */
    public TrainConfig(ResNetConfig model, int imageSize, int K, double m, double T, int devices, boolean symmetric, boolean mCos,
                       double lr, double momentum, double weightDecay, boolean cos, int[] schedule, int epochs, int batch,
                       String aug, long seed, String data, int subset, int knnK, double knnT, double[] normalizeMean,
                       double[] normalizeStd, MocoConfig.Mechanism mechanism, boolean shuffleBn) {
        this(model, imageSize, K, m, T, devices, symmetric, mCos, lr, momentum, weightDecay, cos, schedule, epochs, batch, aug,
                seed, data, subset, knnK, knnT, normalizeMean, normalizeStd, mechanism, shuffleBn, 0);
    }

    /** The same run with a linear learning-rate warm-up over {@code epochs} epochs. */
    public TrainConfig withWarmup(double epochs) {
        return new TrainConfig(model, imageSize, K, m, T, devices, symmetric, mCos, lr, momentum, weightDecay, cos, schedule,
                this.epochs, batch, aug, seed, data, subset, knnK, knnT, normalizeMean, normalizeStd, mechanism, shuffleBn, epochs);
    }

    /**
     * The learning rate of global step {@code step}: the epoch's ({@link #learningRate(int)}), times
     * (step + 1) / warm-up steps while the warm-up lasts.
     */
    public double learningRate(long step, int stepsPerEpoch) {
        double lr = learningRate((int) (step / stepsPerEpoch));
        double warm = warmupEpochs * stepsPerEpoch;
        return step + 1 < warm ? lr * (step + 1) / warm : lr;
    }

    /** The MoCo step's configuration (m is the base momentum; the trainer passes each step's value). */
    public MocoConfig moco() {
        return new MocoConfig(model, K, m, T, devices, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, symmetric,
                lr, momentum, weightDecay, batch, new int[] {model.inChannels(), imageSize, imageSize}, mechanism, shuffleBn).validate();
    }

    /** main_moco.py's adjust_learning_rate: cosine over epochs, or x0.1 at each milestone passed. */
    public double learningRate(int epoch) {
        if (cos) return lr * 0.5 * (1.0 + Math.cos(Math.PI * epoch / epochs));
        double r = lr;
        for (int milestone : schedule) if (epoch >= milestone) r *= 0.1;
        return r;
    }

    /** The key encoder's momentum at a global step: m, or with mCos BYOL's ramp from m to 1. */
    public double momentumAt(long step, long totalSteps) {
        if (!mCos) return m;
        return 1 - (1 - m) * (1 + Math.cos(Math.PI * step / totalSteps)) / 2;
    }

    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("block", this.model.block().id());
        ArrayNode layers = model.putArray("layers");
        for (int l : this.model.layers()) layers.add(l);
        model.put("width", this.model.width());
        model.put("in_channels", this.model.inChannels());
        model.put("stem", this.model.stem().id());
        model.put("dim", this.model.dim());
        model.put("mlp", this.model.mlp());
        root.put("image_size", imageSize);
        ObjectNode moco = root.putObject("moco");
        moco.put("K", K);
        moco.put("m", m);
        moco.put("T", T);
        moco.put("devices", devices);
        moco.put("symmetric", symmetric);
        moco.put("m_cos", mCos);
        moco.put("mechanism", mechanism.id());
        moco.put("shuffle_bn", shuffleBn);
        ObjectNode optim = root.putObject("optim");
        optim.put("lr", lr);
        optim.put("momentum", momentum);
        optim.put("weight_decay", weightDecay);
        optim.put("cos", cos);
        optim.put("warmup_epochs", warmupEpochs);
        ArrayNode sched = optim.putArray("schedule");
        for (int s : schedule) sched.add(s);
        root.put("epochs", epochs);
        root.put("batch", batch);
        root.put("aug", aug);
        root.put("seed", seed);
        root.put("data", data);
        root.put("subset", subset);
        root.put("knn_k", knnK);
        root.put("knn_t", knnT);
        ArrayNode mean = root.putArray("normalize_mean");
        for (double v : normalizeMean) mean.add(v);
        ArrayNode std = root.putArray("normalize_std");
        for (double v : normalizeStd) std.add(v);
        return root.toString();
    }

    public static TrainConfig fromJson(String json, String where) {
        try {
            JsonNode r = JSON.readTree(json);
            JsonNode mo = r.get("model"), mc = r.get("moco"), op = r.get("optim");
            ResNetConfig model = new ResNetConfig(ResNetConfig.Block.parse(mo.get("block").asText()), ints(mo.get("layers")),
                    mo.get("width").asInt(), mo.get("in_channels").asInt(), ResNetConfig.Stem.parse(mo.get("stem").asText()),
                    mo.get("dim").asInt(), mo.get("mlp").asBoolean());
            return new TrainConfig(model, r.get("image_size").asInt(),
                    mc.get("K").asInt(), mc.get("m").asDouble(), mc.get("T").asDouble(), mc.get("devices").asInt(),
                    mc.get("symmetric").asBoolean(), mc.get("m_cos").asBoolean(),
                    op.get("lr").asDouble(), op.get("momentum").asDouble(), op.get("weight_decay").asDouble(),
                    op.get("cos").asBoolean(), ints(op.get("schedule")),
                    r.get("epochs").asInt(), r.get("batch").asInt(), r.get("aug").asText(), r.get("seed").asLong(),
                    r.get("data").asText(), r.get("subset").asInt(), r.get("knn_k").asInt(), r.get("knn_t").asDouble(),
                    doubles(r.get("normalize_mean")), doubles(r.get("normalize_std")),
                    MocoConfig.Mechanism.parse(mc.has("mechanism") ? mc.get("mechanism").asText() : "moco"),
                    !mc.has("shuffle_bn") || mc.get("shuffle_bn").asBoolean(),
                    op.has("warmup_epochs") ? op.get("warmup_epochs").asDouble() : 0);
        } catch (Exception e) {
            throw new MocoRefException(where + ": the checkpoint's training configuration is unreadable (" + e.getMessage() + ")");
        }
    }

    private static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asInt();
        return out;
    }

    private static double[] doubles(JsonNode a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asDouble();
        return out;
    }

    /** Same run, longer or shorter: what may differ between a checkpoint and the command that resumes it. */
    public TrainConfig withEpochs(int newEpochs) {
        return new TrainConfig(model, imageSize, K, m, T, devices, symmetric, mCos, lr, momentum, weightDecay, cos,
                schedule, newEpochs, batch, aug, seed, data, subset, knnK, knnT, normalizeMean, normalizeStd, mechanism, shuffleBn, warmupEpochs);
    }

    @Override
    public String toString() {
        return (mechanism == MocoConfig.Mechanism.MOCO ? "" : mechanism.id() + ", ") + (shuffleBn ? "" : "no shuffle BN, ")
                + model + ", " + imageSize + "px, K " + K + ", m " + m + (mCos ? " (cosine)" : "") + ", T " + T + ", G " + devices
                + (symmetric ? ", symmetric" : "") + ", lr " + lr + (cos ? " cosine" : " steps " + Arrays.toString(schedule))
                + (warmupEpochs > 0 ? ", warm-up " + warmupEpochs + " epochs" : "") + ", wd " + weightDecay + ", batch " + batch + ", " + epochs + " epochs, aug " + aug + ", seed " + seed;
    }
}
