package mocoref.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import mocoref.golden.GoldenReport;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import mocoref.testing.ErrorLog;

/**
 * Every layer's forward and backward against PyTorch float64, on the cases that
 * reference-tests/make_layer_cases.py dumped (autograd gradients of sum(dy*y)). Tolerance:
 * relative error ‖a−e‖/‖e‖ per tensor at most 1e-10, fixed by the issue; both sides are float64
 * and differ only in summation order (~1e-15).
 */
class PyTorchLayerTest {
    static final double TOL = 1e-10;
    static final Path DIR = Path.of("reference-tests/layers");

    static List<Path> cases() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void everyLayerHasCases() throws IOException {
        Map<String, Long> perLayer = cases().stream().collect(java.util.stream.Collectors.groupingBy(
                p -> SafeTensors.read(p).metadata().get("layer"), java.util.stream.Collectors.counting()));
        for (String layer : List.of("conv2d", "batchnorm2d", "relu", "maxpool2d", "avgpool", "linear", "normalize",
                "cross_entropy", "add")) {
            assertTrue(perLayer.getOrDefault(layer, 0L) >= 3, layer + " has fewer than 3 cases: " + perLayer);
        }
        assertEquals(9, perLayer.size(), "layer kinds: " + perLayer.keySet());
    }

    @TestFactory
    Stream<DynamicTest> layers() throws IOException {
        return cases().stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> check(SafeTensors.read(p))));
    }

    static void close(SafeTensorsFile f, String name, Tensor actual) {
        double err = GoldenReport.relativeError(actual.data, f.get(name).toDoubles());
        ErrorLog.record("pytorch", f.metadata().get("layer") + " " + name, err);
        assertTrue(err <= TOL, f.path().getFileName() + " " + name + ": relative error " + err);
    }

    static void close(SafeTensorsFile f, String name, double actual) {
        close(f, name, new Tensor(new double[] {actual}, f.get(name).shape()));
    }

    static int meta(SafeTensorsFile f, String key) {
        return Integer.parseInt(f.metadata().get(key));
    }

    static void copyInto(SafeTensorsFile f, String name, Tensor to) {
        System.arraycopy(f.get(name).toDoubles(), 0, to.data, 0, to.numel());
    }

    static void check(SafeTensorsFile f) {
        String layer = f.metadata().get("layer");
        switch (layer) {
            case "conv2d" -> {
                Conv2d conv = new Conv2d(meta(f, "in_channels"), meta(f, "out_channels"), meta(f, "kernel"),
                        meta(f, "stride"), meta(f, "padding"));
                copyInto(f, "weight", conv.weight.value);
                close(f, "y", conv.forward(f.get("x").toTensor()));
                close(f, "dx", conv.backward(f.get("dy").toTensor()));
                close(f, "dweight", conv.weight.grad);
            }
            case "batchnorm2d" -> {
                BatchNorm2d bn = new BatchNorm2d(meta(f, "channels"));
                copyInto(f, "weight", bn.weight.value);
                copyInto(f, "bias", bn.bias.value);
                copyInto(f, "running_mean", bn.runningMean);
                copyInto(f, "running_var", bn.runningVar);
                if (f.metadata().get("mode").equals("eval")) {
                    close(f, "y", bn.forwardEval(f.get("x").toTensor()));
                } else {
                    close(f, "y", bn.forward(f.get("x").toTensor(), meta(f, "groups")));
                    close(f, "dx", bn.backward(f.get("dy").toTensor()));
                    close(f, "dweight", bn.weight.grad);
                    close(f, "dbias", bn.bias.grad);
                    close(f, "running_mean_after", bn.runningMean);
                    close(f, "running_var_after", bn.runningVar);
                }
            }
            case "relu" -> {
                Relu relu = new Relu();
                close(f, "y", relu.forward(f.get("x").toTensor()));
                close(f, "dx", relu.backward(f.get("dy").toTensor()));
            }
            case "maxpool2d" -> {
                MaxPool2d pool = new MaxPool2d(meta(f, "kernel"), meta(f, "stride"), meta(f, "padding"));
                close(f, "y", pool.forward(f.get("x").toTensor()));
                close(f, "dx", pool.backward(f.get("dy").toTensor()));
            }
            case "avgpool" -> {
                GlobalAvgPool pool = new GlobalAvgPool();
                close(f, "y", pool.forward(f.get("x").toTensor()));
                close(f, "dx", pool.backward(f.get("dy").toTensor()));
            }
            case "linear" -> {
                Linear lin = new Linear(meta(f, "in_features"), meta(f, "out_features"));
                copyInto(f, "weight", lin.weight.value);
                copyInto(f, "bias", lin.bias.value);
                close(f, "y", lin.forward(f.get("x").toTensor()));
                close(f, "dx", lin.backward(f.get("dy").toTensor()));
                close(f, "dweight", lin.weight.grad);
                close(f, "dbias", lin.bias.grad);
            }
            case "normalize" -> {
                L2Normalize norm = new L2Normalize();
                close(f, "y", norm.forward(f.get("x").toTensor()));
                close(f, "dx", norm.backward(f.get("dy").toTensor()));
            }
            case "cross_entropy" -> {
                CrossEntropy ce = new CrossEntropy();
                long[] t = f.get("target").toLongs();
                int[] targets = new int[t.length];
                for (int i = 0; i < t.length; i++) targets[i] = (int) t[i];
                close(f, "loss", ce.forward(f.get("logits").toTensor(), targets));
                close(f, "dlogits", ce.backward(1.0));
            }
            case "add" -> {
                ResidualAdd add = new ResidualAdd();
                close(f, "y", add.forward(f.get("a").toTensor(), f.get("b").toTensor()));
                close(f, "da", add.backward(f.get("dy").toTensor()));
                close(f, "db", add.backward(f.get("dy").toTensor()));
            }
            default -> throw new AssertionError(f.path() + ": unknown layer " + layer);
        }
    }
}
