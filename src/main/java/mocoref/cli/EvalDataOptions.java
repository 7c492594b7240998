package mocoref.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.data.Dataset;
import mocoref.data.Datasets;
import mocoref.data.Split;
import mocoref.data.augment.Normalize;
import mocoref.eval.CheckpointModel;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/** Which data {@code knn} and {@code lincls} evaluate on, and how it is prepared. */
final class EvalDataOptions implements CheckedOptions {
    static final Path DEFAULT_DATA = Path.of("/usr/share/datasets/fashion-mnist");
    static final java.util.List<String> NORMALIZE = java.util.List.of("auto", "checkpoint", "imagenet", "dataset");

    @Option(names = "--data", paramLabel = "DIR",
            description = "dataset directory (default: the checkpoint's training data, else " + "/usr/share/datasets/fashion-mnist)")
    Path data;

    @Option(names = "--image-size", description = "image height and width (default: the checkpoint's, else the stored size)")
    Integer imageSize;

    @Option(names = "--subset", defaultValue = "0", description = "a class-balanced subset of N training images (0: all)")
    int subset;

    @Option(names = "--test-subset", defaultValue = "0", description = "a class-balanced subset of N test images (0: all)")
    int testSubset;

    @Option(names = "--normalize", defaultValue = "auto",
            description = "auto (the checkpoint's; else ImageNet's for RGB, the training split's own for grey), checkpoint, imagenet or dataset")
    String normalize;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the subsets, the classifier and its shuffles (default: ${DEFAULT-VALUE})")
    long seed;

    @Override
    public void checkOptions(ParseResult parsed) {
        if (imageSize != null) OptionRules.atLeast("--image-size", imageSize, 1);
        OptionRules.atLeast("--subset", subset, 0);
        OptionRules.atLeast("--test-subset", testSubset, 0);
        OptionRules.oneOf("--normalize", normalize, NORMALIZE);
    }

    /** A --data given must be a dataset folder, checked before the checkpoint is read (else its own data is checked when loaded). */
    void checkPaths() {
        if (data != null) Datasets.detect(data);
    }

    Path dir(CheckpointModel model) {
        if (data != null) return data;
        if (model.data() != null) return Path.of(model.data());
        return DEFAULT_DATA;
    }

    int imageSize(CheckpointModel model) {
        return imageSize != null ? imageSize : model.imageSize();
    }

    Dataset load(CheckpointModel model, Split split) {
        int n = split == Split.TRAIN ? subset : testSubset;
        return Datasets.load(dir(model), split, imageSize(model), model.config().inChannels(), n, seed);
    }

    /** The normalization to use, saying which on {@code out}. */
    Normalize normalization(CheckpointModel model, Dataset train, PrintWriter out) {
        String choice = normalize;
        if (choice.equals("auto")) {
            choice = model.normalize() != null ? "checkpoint" : train.channels() == 3 ? "imagenet" : "dataset";
        }
        Normalize n = switch (choice) {
            case "checkpoint" -> {
                if (model.normalize() == null) throw new MocoRefException(model.path() + ": --normalize checkpoint, but the file records no normalization");
                yield model.normalize();
            }
            case "imagenet" -> {
                if (train.channels() != 3) throw new MocoRefException("--normalize imagenet needs RGB images; " + train.name() + " has " + train.channels() + " channel(s)");
                yield Normalize.imagenet();
            }
            case "dataset" -> train.normalization();
            default -> throw new MocoRefException("--normalize: unknown '" + normalize + "'; expected auto, checkpoint, imagenet or dataset");
        };
        out.println("normalize: " + choice + " " + n);
        return n;
    }
}
