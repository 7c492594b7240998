package mocoref.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import mocoref.eval.BackboneExport;
import mocoref.eval.CheckpointModel;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref export}: the query encoder's backbone (head dropped) as a torchvision state dict,
 * F32, with the architecture in the metadata.
 */
@Command(name = "export", description = "Export the query encoder's backbone with torchvision names.")
public final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    EvalModelOptions model;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "where to write the backbone (safetensors)")
    Path out;

    @Override
    public Integer call() {
        OutputPaths.checkFile("--out", out);
        CheckpointModel m = model.load();
        Map<String, StoredTensor> tensors = BackboneExport.tensors(m);
        SafeTensors.write(out, tensors, BackboneExport.metadata(m));
        spec.commandLine().getOut().printf("export: %s -> %s: %d tensors, %s, head dropped%n", m.path(), out, tensors.size(), m.describe());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
