package mocoref.ablation;

import java.util.ArrayList;
import java.util.List;
import mocoref.MocoRefException;
import mocoref.model.MocoConfig.Mechanism;
import mocoref.train.TrainConfig;

/**
 * The paper's ablations, each a list of settings derived from one base training configuration:
 * <ul>
 * <li>{@code momentum}: m in {0, 0.9, 0.99, 0.999, 0.9999} (the paper's Table: m = 0 fails; 55.2,
 *     57.8, 59.0, 58.9 top-1 with K = 4096, ResNet-50 on ImageNet);</li>
 * <li>{@code mechanism}: end-to-end, memory bank and MoCo over K in {256, 1024, 4096, 16384} where the
 *     mechanism allows it (end-to-end's K is the batch minus one, at most 1024 images as on the
 *     paper's 8 GPUs; the paper's Fig. 3);</li>
 * <li>{@code shuffle-bn}: MoCo with and without shuffling BN (the paper's section 3.3);</li>
 * <li>{@code queue-size}: MoCo over K in {256, 1024, 4096, 16384} (the MoCo curve of Fig. 3).</li>
 * </ul>
 */
public enum Study {
    MOMENTUM("momentum", "key-encoder momentum m", false),
    MECHANISM("mechanism", "dictionary size K (negatives per query)", true),
    SHUFFLE_BN("shuffle-bn", "shuffling BN", false),
    QUEUE_SIZE("queue-size", "queue size K", true);

    public final String id;
    /** What the plot's x axis shows. */
    public final String axis;
    /** Whether x is a size to plot on a log scale (else the settings are categories). */
    public final boolean logX;

    Study(String id, String axis, boolean logX) {
        this.id = id;
        this.axis = axis;
        this.logX = logX;
    }

    public static Study parse(String s) {
        for (Study st : values()) if (st.id.equals(s)) return st;
        throw new MocoRefException("unknown study '" + s + "' (expected momentum, mechanism, shuffle-bn or queue-size)");
    }

    /** The dictionary sizes of the size studies, as the paper's Fig. 3 spans them (without its 65536). */
    public static final int[] SIZES = {256, 1024, 4096, 16384};
    /** End-to-end needs the whole dictionary in one batch: the paper's 8 GPUs held at most 1024 images. */
    static final int MAX_END_TO_END_BATCH = 1024;

    /**
     * One run configuration of a study: its id (a folder name), label, the series and x position
     * it takes in the plot, and the paper's number for it where the paper gives one (NaN: none;
     * {@code paperFails}: the paper reports the setting as failing to train).
     */
    public record Setting(String id, String label, String series, double x, TrainConfig config, double paper, boolean paperFails) {}

    /** This study's settings on {@code base} (whose epochs and seed the runner sets), K over {@link #SIZES}. */
    public List<Setting> settings(TrainConfig base) {
        return settings(base, SIZES);
    }

    /** This study's settings with the size studies over {@code sizes}. */
    public List<Setting> settings(TrainConfig base, int[] sizes) {
        List<Setting> out = new ArrayList<>();
        switch (this) {
            case MOMENTUM -> {
                double[] ms = {0, 0.9, 0.99, 0.999, 0.9999};
                double[] paper = {Double.NaN, 55.2, 57.8, 59.0, 58.9};
                for (int i = 0; i < ms.length; i++) {
                    out.add(new Setting("m" + ms[i], "m = " + ms[i], "MoCo", i, with(base, Mechanism.MOCO, base.K(), base.batch(), ms[i], true),
                            paper[i], i == 0));
                }
            }
            case MECHANISM -> {
                for (int k : sizes) {
                    if (k <= MAX_END_TO_END_BATCH) {
                        out.add(new Setting("end-to-end-K" + (k - 1), "end-to-end, K = " + (k - 1) + " (batch " + k + ")", "end-to-end",
                                k - 1, with(base, Mechanism.END_TO_END, k - 1, k, base.m(), true), Double.NaN, false));
                    }
                    out.add(new Setting("memory-bank-K" + k, "memory bank, K = " + k, "memory bank", k,
                            with(base, Mechanism.MEMORY_BANK, k, base.batch(), base.m(), true), Double.NaN, false));
                    out.add(new Setting("moco-K" + k, "MoCo, K = " + k, "MoCo", k, with(base, Mechanism.MOCO, k, base.batch(), base.m(), true),
                            Double.NaN, false));
                }
            }
            case SHUFFLE_BN -> {
                out.add(new Setting("shuffle-bn", "shuffle BN", "MoCo", 0, with(base, Mechanism.MOCO, base.K(), base.batch(), base.m(), true),
                        Double.NaN, false));
                out.add(new Setting("no-shuffle-bn", "no shuffle BN", "MoCo", 1,
                        with(base, Mechanism.MOCO, base.K(), base.batch(), base.m(), false), Double.NaN, false));
            }
            case QUEUE_SIZE -> {
                for (int k : sizes) {
                    out.add(new Setting("K" + k, "K = " + k, "MoCo", k, with(base, Mechanism.MOCO, k, base.batch(), base.m(), true),
                            Double.NaN, false));
                }
            }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    /** What the paper says, in a sentence, for the report. */
    public String paperClaim() {
        return switch (this) {
            case MOMENTUM -> "ImageNet linear top-1, ResNet-50, K = 4096 (the paper's momentum table): m = 0 fails "
                    + "(the loss oscillates), 0.9: 55.2, 0.99: 57.8, 0.999: 59.0, 0.9999: 58.9. A slowly moving key encoder "
                    + "keeps the queue's keys consistent; too fast a one (small m) breaks the dictionary.";
            case MECHANISM -> "The paper's Fig. 3 (ImageNet linear, ResNet-50): all three mechanisms gain from a larger "
                    + "dictionary; end-to-end is limited by the batch (K = 1024 at most on 8 GPUs); the memory bank is "
                    + "less consistent and ends 2.6 points below MoCo at K = 65536 (58.0 against 60.6).";
            case SHUFFLE_BN -> "Without shuffling BN the model \"cheats\" the pretext task through the batch statistics: "
                    + "the pretext (contrastive) accuracy jumps while the representation gets worse; the official CIFAR-10 "
                    + "demo reports about 4 points of kNN accuracy lost.";
            case QUEUE_SIZE -> "MoCo keeps gaining from a larger queue (Fig. 3: 60.6 at K = 65536 on ImageNet), because "
                    + "the momentum encoder keeps old keys consistent enough to be useful negatives.";
        };
    }

    private static TrainConfig with(TrainConfig b, Mechanism mechanism, int k, int batch, double m, boolean shuffleBn) {
        return new TrainConfig(b.model(), b.imageSize(), k, m, b.T(), b.devices(), b.symmetric(), b.mCos(), b.lr(), b.momentum(),
                b.weightDecay(), b.cos(), b.schedule(), b.epochs(), batch, b.aug(), b.seed(), b.data(), b.subset(), b.knnK(),
                b.knnT(), b.normalizeMean(), b.normalizeStd(), mechanism, shuffleBn);
    }
}
