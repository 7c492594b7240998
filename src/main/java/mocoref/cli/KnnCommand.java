package mocoref.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code moco-ref knn}: kNN accuracy of a checkpoint's features. */
@Command(name = "knn", description = "kNN accuracy of a checkpoint's features.")
public final class KnnCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return NotBuiltYet.report(spec, 4);
    }
}
