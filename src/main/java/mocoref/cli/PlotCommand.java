package mocoref.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.train.Plots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code moco-ref plot RUN_DIR}: redraws a training run's PNG plots from its metrics.jsonl and test features. */
@Command(name = "plot", description = "Redraw a training run's plots from its metrics.jsonl and test features.")
public final class PlotCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "RUN_DIR", description = "a directory written by moco-ref train")
    Path runDir;

    @Override
    public Integer call() {
        if (!Files.isDirectory(runDir)) throw new MocoRefException(runDir + ": no such run directory");
        List<Path> files = Plots.drawAll(runDir);
        if (files.isEmpty()) throw new MocoRefException(runDir + ": holds no " + Plots.METRICS + " or " + Plots.TEST_FEATURES + " to plot");
        files.forEach(f -> spec.commandLine().getOut().println("wrote " + f));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
