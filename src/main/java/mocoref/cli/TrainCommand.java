package mocoref.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code moco-ref train}: pre-train a MoCo encoder. */
@Command(name = "train", description = "Pre-train a MoCo encoder.")
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return NotBuiltYet.report(spec, 4);
    }
}
