package mocoref.cli;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import mocoref.model.ResNetConfig;
import mocoref.train.Checkpoint;
import mocoref.train.TrainConfig;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * What {@code train --resume} lets a command line change. A resumed run continues the run its
 * checkpoint began, so every option that fixes what the run computes ({@link #FIXED}) must, when
 * given, agree with the checkpoint; the others ({@link #MAY_CHANGE}) say how far, where and how
 * fast it runs. Every option of {@code train} is in exactly one of the two (OptionRulesTest checks).
 */
final class ResumeRules {
    /** Options a resumed run may set. --data may point to the same images moved elsewhere (TrainCommand compares them). */
    static final Set<String> MAY_CHANGE = Set.of("--epochs", "--threads", "--out", "--data", "--resume", "--baselines",
            "--backend", "--monitor", "--preset", "--cl-device", "--cl-devices", "--detect-anomaly", "--verbose", "--help", "--version");

    /** How an option's value appears in a checkpoint's configuration, and how a given value compares with it. */
    private record Fixed(Function<TrainConfig, Object> recorded, Function<Object, Object> given) {}

    static final Map<String, Fixed> FIXED = new LinkedHashMap<>();

    static {
        fixed("--arch", c -> blocks(c.model()), a -> blocks(ResNetConfig.preset((String) a, 1, 1, ResNetConfig.Stem.CIFAR, 1, false)));
        fixed("--width", c -> c.model().width());
        fixed("--stem", c -> c.model().stem().id(), s -> ResNetConfig.Stem.parse((String) s).id());
        fixed("--in-channels", c -> c.model().inChannels());
        fixed("--image-size", TrainConfig::imageSize);
        fixed("--moco-dim", c -> c.model().dim());
        fixed("--mlp", c -> c.model().mlp());
        fixed("--batch-size", TrainConfig::batch);
        fixed("--moco-k", TrainConfig::K);
        fixed("--moco-m", TrainConfig::m);
        fixed("--moco-t", TrainConfig::T);
        fixed("--devices", TrainConfig::devices);
        fixed("--symmetric", TrainConfig::symmetric);
        fixed("--lr", TrainConfig::lr);
        fixed("--momentum", TrainConfig::momentum);
        fixed("--wd", TrainConfig::weightDecay);
        fixed("--cos", TrainConfig::cos);
        fixed("--schedule", c -> list(c.schedule()), s -> list((int[]) s));
        fixed("--moco-m-cos", TrainConfig::mCos);
        fixed("--aug", TrainConfig::aug);
        FIXED.put("--aug-plus", new Fixed(c -> c.aug().equals("v2") ? "v2" : c.aug(), plus -> "v2"));
        fixed("--seed", TrainConfig::seed);
        fixed("--subset", TrainConfig::subset);
        fixed("--knn-k", TrainConfig::knnK);
        fixed("--knn-t", TrainConfig::knnT);
        fixed("--mechanism", c -> c.mechanism().id());
        fixed("--no-shuffle-bn", c -> !c.shuffleBn());
        fixed("--warmup-epochs", TrainConfig::warmupEpochs);
    }

    private ResumeRules() {}

    private static void fixed(String option, Function<TrainConfig, Object> recorded) {
        FIXED.put(option, new Fixed(recorded, Function.identity()));
    }

    private static void fixed(String option, Function<TrainConfig, Object> recorded, Function<Object, Object> given) {
        FIXED.put(option, new Fixed(recorded, given));
    }

    /**
     * Refuses (exit 2) options given beside {@code --resume} that contradict {@code cp} (read from
     * {@code file}), a {@code --backend} other than the one that trained it, and an {@code --epochs}
     * that leaves nothing to do ({@code finished}: the run directory holds final.json).
     */
    static void check(ParseResult parsed, Checkpoint cp, Path file, boolean finished) {
        for (OptionSpec o : parsed.matchedOptions()) {
            Fixed rule = FIXED.get(o.longestName());
            if (rule == null) continue;
            Object given = rule.given().apply(o.getValue());
            Object recorded = rule.recorded().apply(cp.config());
            if (!Objects.equals(given, recorded)) {
                throw new OptionException(o.longestName() + " " + show(given) + " contradicts " + file + ", which has " + show(recorded)
                        + "; a resumed run keeps its configuration and may change only " + String.join(", ", List.of("--epochs",
                        "--threads", "--out", "--data")));
            }
        }
        String backend = parsed.matchedOptionValue("--backend", null);
        if (backend != null && cp.backend() != null && !backend.equals(cp.backend())) {
            throw new OptionException("--backend " + backend + ": " + file + " was trained on the " + cp.backend()
                    + " backend; resume it there (backends round differently, so the run would not continue as it began)");
        }
        Integer epochs = parsed.matchedOptionValue("--epochs", null);
        int target = epochs != null ? epochs : cp.config().epochs();
        if (target < cp.epoch() || target == cp.epoch() && finished) {
            throw new OptionException(epochs != null
                    ? "--epochs " + epochs + " is not above the " + cp.epoch() + " epochs " + file + " has done; give more to train on"
                    : "--epochs: the run of " + file + " is complete (" + cp.epoch() + " of " + target
                            + " epochs); give --epochs above " + cp.epoch() + " to train on");
        }
    }

    private static String blocks(ResNetConfig model) {
        return model.block().id() + " " + Arrays.toString(model.layers());
    }

    private static List<Integer> list(int[] values) {
        return Arrays.stream(values).boxed().toList();
    }

    private static String show(Object v) {
        if (v instanceof Double d) return OptionRules.show(d);
        if (v instanceof List<?> l) return l.stream().map(String::valueOf).reduce((a, b) -> a + "," + b).orElse("(none)");
        return String.valueOf(v);
    }
}
