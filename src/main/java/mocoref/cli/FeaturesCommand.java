package mocoref.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code moco-ref features}: extract features (embeddings) of images with a checkpoint. */
@Command(name = "features", description = "Extract features (embeddings) of images with a checkpoint.")
public final class FeaturesCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return NotBuiltYet.report(spec, 4);
    }
}
