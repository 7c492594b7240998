package mocoref.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.eval.CheckpointModel;
import mocoref.eval.ImageFeatures;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref features}: the eval-mode forward of given images (taken as they are, not
 * normalized), written as {@code features} (global-pooled backbone output) and {@code embedding}
 * (the head's output; absent when the checkpoint has no head), F32 safetensors.
 */
@Command(name = "features", description = "Extract features (embeddings) of images with a checkpoint.")
public final class FeaturesCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Mixin
    EvalModelOptions model;

    @Option(names = "--input", required = true, paramLabel = "FILE",
            description = "safetensors file with the images [N, C, H, W] (F32 or F64), named 'images' or the only tensor; not normalized here")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "where to write features (and embedding)")
    Path out;

    @Option(names = "--batch-size", defaultValue = "256", description = "images per forward pass (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Override
    public void checkOptions(ParseResult parsed) {
        OptionRules.atLeast("--batch-size", batchSize, 1);
    }

    @Override
    public Integer call() {
        OutputPaths.checkFile("--out", out);
        if (!Files.isRegularFile(input)) throw new MocoRefException(input + ": " + (Files.isDirectory(input) ? "is a directory, not" : "no such") + " images file (--input)");
        CheckpointModel m = model.load();
        StoredTensor images = ImageFeatures.readImages(input, m.config().inChannels(), m.path().toString());
        Backend backend = model.backend();
        Map<String, StoredTensor> result = ImageFeatures.compute(m.encoder(backend), images, batchSize);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("checkpoint", m.path().toString());
        meta.put("model", m.describe());
        meta.put("backend", backend.name());
        SafeTensors.write(out, result, meta);
        PrintWriter w = spec.commandLine().getOut();
        w.printf("features: %d images -> %s: features %s%s (%s, %s backend)%n", images.shape()[0], out,
                java.util.Arrays.toString(result.get("features").shape()),
                result.containsKey("embedding") ? ", embedding " + java.util.Arrays.toString(result.get("embedding").shape()) : ", no head",
                m.describe(), backend.name());
        w.flush();
        return 0;
    }
}
