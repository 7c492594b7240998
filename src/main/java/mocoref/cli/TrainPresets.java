package mocoref.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * {@code train --preset}: recipes chosen by the study of docs/learning.md, each a set of option
 * values that stand in for the options' own defaults. An option given on the command line always
 * wins over its preset's value, so a preset is a starting point, not a mode. Without
 * {@code --preset} a new run uses {@link #DEFAULT}; {@code --preset none} leaves every option at
 * its own default (the CIFAR demo's recipe that {@code --help} shows, 3 epochs).
 */
final class TrainPresets {
    /** The preset of a new run that names none. */
    static final String DEFAULT = "quick";

    /** Option values by preset, in the order --help shows them; values have the options' own types. */
    static final Map<String, Map<String, Object>> PRESETS = new LinkedHashMap<>();

    /** Options that stand for another's value: a preset's --aug is not applied when --aug-plus is given. */
    private static final Map<String, Set<String>> SAME_SETTING = Map.of("--aug", Set.of("--aug-plus"));

    static {
        // docs/learning.md: a batch of 64 (four times the steps of 256 in the same time) and crops of
        // at least 40% of the image (the CIFAR demo's 20% did worse on Fashion-MNIST) helped; ResNet-10
        // (one basic block a stage) learns as much per epoch as ResNet-18 here in half the time, so the
        // minutes of the CIFAR demo's 3 epochs of ResNet-18 hold 8 of it (9.8 minutes against that
        // default's 10.4 in one sitting; 7 until the training after the raw-pixel baseline ran at full
        // speed, docs/performance.md "One vector shape"). The kNN monitor between epochs on 2000 images
        // costs a second; the last epoch's kNN always uses every image. Brightness and contrast jitter
        // of 0.8 on every view (the CIFAR demo's 0.4 on 80% of them): +1.8 / +3.1 points of kNN and
        // +1.7 / +2.7 of linear on the subset with two seeds (stage 7); 1.0 reaches black images and did worse.
        PRESETS.put("quick", recipe("--arch", "resnet10", "--epochs", 8, "--batch-size", 64, "--aug", "fashion:crop=0.4,jitter=0.8,pjitter=1",
                "--monitor", 2000));
        // quick's recipe (ResNet-10, batch 64, gentler crops) twice as wide, for as many epochs as fit in
        // an hour on the 2-core machine of docs/learning.md with room for a slower VM, baselines and
        // read-outs included: 13 epochs, 48.7 minutes, linear 89.32% (ResNet-18 at width 32 for 9
        // epochs: 53 minutes, 88.54%); the monitor between epochs on 1000 images costs seconds. It keeps
        // the milder jitter that quick had then: with quick's stronger one it gave kNN 85.52% but linear
        // 89.16% in 41.0 minutes (docs/learning.md, stage 7).
        PRESETS.put("1h", recipe("--arch", "resnet10", "--batch-size", 64, "--aug", "fashion:crop=0.4", "--width", 32, "--epochs", 13,
                "--monitor", 1000));
        PRESETS.put("none", Map.of());
    }

    private TrainPresets() {}

    private static Map<String, Object> recipe(Object... optionValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < optionValues.length; i += 2) m.put((String) optionValues[i], optionValues[i + 1]);
        return m;
    }

    /** "--batch-size 64 --lr 0.12 ..." as a command line would give it. */
    static String describe(String name) {
        return String.join(" ", PRESETS.get(name).entrySet().stream().map(TrainPresets::asGiven).toList());
    }

    /** One option of a preset as a command line gives it: "--batch-size 64", "--symmetric", "--no-mlp". */
    private static String asGiven(Map.Entry<String, Object> e) {
        if (e.getValue() instanceof Boolean on) return on ? e.getKey() : "--no-" + e.getKey().substring(2); // switches
        return e.getKey() + " " + (e.getValue() instanceof int[] a ? join(a) : e.getValue());
    }

    private static String join(int[] a) {
        StringBuilder b = new StringBuilder();
        for (int v : a) b.append(b.length() > 0 ? "," : "").append(v);
        return b.toString();
    }

    /**
     * Sets the options of preset {@code name} that {@code parsed} did not give (nor an option that
     * stands for the same setting) and returns them as a command line ("" when none), for the
     * run's "recipe:" line. Refuses an unknown name.
     */
    static String apply(String name, CommandSpec spec, ParseResult parsed) {
        Map<String, Object> preset = PRESETS.get(name);
        if (preset == null) {
            throw new OptionException("--preset: unknown '" + name + "' (expected " + String.join(", ", PRESETS.keySet()) + ")");
        }
        StringBuilder applied = new StringBuilder();
        for (Map.Entry<String, Object> e : preset.entrySet()) {
            if (!applies(e.getKey(), spec, parsed)) continue;
            OptionSpec option = spec.findOption(e.getKey());
            if (option == null) throw new IllegalStateException("preset " + name + " sets " + e.getKey() + ", which train does not have");
            option.setValue(e.getValue());
            applied.append(applied.length() > 0 ? " " : "").append(asGiven(e));
        }
        return applied.toString();
    }

    /**
     * Whether a preset sets {@code key}: not when it (or an option that stands for the same setting)
     * was given, and its augmentation, chosen on grey images, not for colour ones ({@code
     * --in-channels 3} keeps v1, the default for colour).
     */
    private static boolean applies(String key, CommandSpec spec, ParseResult parsed) {
        if (parsed.hasMatchedOption(key)) return false;
        if (SAME_SETTING.getOrDefault(key, Set.of()).stream().anyMatch(parsed::hasMatchedOption)) return false;
        return !key.equals("--aug") || Integer.valueOf(1).equals(spec.findOption("--in-channels").getValue());
    }
}
