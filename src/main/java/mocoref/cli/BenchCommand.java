package mocoref.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code moco-ref bench}: time whole MoCo steps. */
@Command(name = "bench", description = "Time whole MoCo steps.")
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return NotBuiltYet.report(spec, 3);
    }
}
