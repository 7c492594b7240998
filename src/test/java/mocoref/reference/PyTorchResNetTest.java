package mocoref.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import mocoref.golden.GoldenReport;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import mocoref.testing.ErrorLog;

/**
 * Whole encoders (basic and bottleneck blocks, both stems, fc and MLP heads, one and two logical
 * devices) against PyTorch float64: the training-mode output, the input gradient, every
 * parameter's gradient, the running statistics after the forward, and the eval-mode output.
 * Tolerance 1e-10 relative per tensor, as for single layers.
 */
class PyTorchResNetTest {
    static final Path DIR = Path.of("reference-tests/resnet");

    static List<Path> cases() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void casesCoverBlocksStemsAndHeads() throws IOException {
        Set<String> seen = cases().stream().map(p -> SafeTensors.read(p).metadata())
                .map(m -> m.get("block") + "/" + m.get("stem") + "/" + m.get("mlp")).collect(Collectors.toSet());
        assertTrue(seen.size() >= 4, "combinations covered: " + seen);
        assertEquals(5, cases().size());
    }

    static ResNetConfig config(Map<String, String> m) {
        String layers = m.get("layers").replaceAll("[\\[\\] ]", "");
        int[] l = java.util.Arrays.stream(layers.split(",")).mapToInt(Integer::parseInt).toArray();
        return new ResNetConfig(ResNetConfig.Block.parse(m.get("block")), l, Integer.parseInt(m.get("width")),
                Integer.parseInt(m.get("in_channels")), ResNetConfig.Stem.parse(m.get("stem")),
                Integer.parseInt(m.get("dim")), Boolean.parseBoolean(m.get("mlp")));
    }

    @TestFactory
    Stream<DynamicTest> encoders() throws IOException {
        return cases().stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> check(SafeTensors.read(p))));
    }

    static void close(SafeTensorsFile f, String name, double[] actual) {
        double err = GoldenReport.relativeError(actual, f.get(name).toDoubles());
        ErrorLog.record("pytorch", "resnet " + f.path().getFileName() + " " + name, err);
        assertTrue(err <= PyTorchLayerTest.TOL, f.path().getFileName() + " " + name + ": relative error " + err);
    }

    static void check(SafeTensorsFile f) {
        ResNetConfig cfg = config(f.metadata());
        int groups = Integer.parseInt(f.metadata().get("groups"));
        ResNet net = new ResNet(cfg);
        net.loadStateDict(f.tensors()::get, "", f.path().toString());
        Tensor x = f.get("x").toTensor();
        close(f, "y", net.forward(x, groups).data);
        close(f, "dx", net.backward(f.get("dy").toTensor()).data);
        for (Map.Entry<String, Param> e : net.parameters().entrySet()) close(f, "grad." + e.getKey(), e.getValue().grad.data);
        Map<String, StoredTensor> state = net.stateDict("");
        for (String name : state.keySet()) {
            if (name.endsWith("running_mean") || name.endsWith("running_var") || name.endsWith("num_batches_tracked")) {
                close(f, "after." + name, state.get(name).toDoubles());
            }
        }
        ResNet fresh = new ResNet(cfg);
        fresh.loadStateDict(f.tensors()::get, "", f.path().toString());
        close(f, "y_eval", fresh.forwardEval(x).data);
    }
}
