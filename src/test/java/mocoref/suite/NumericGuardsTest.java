package mocoref.suite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import mocoref.backend.Backend;
import mocoref.backend.Diverged;
import mocoref.backend.MocoModel;
import mocoref.cli.Main;
import mocoref.data.SyntheticData;
import mocoref.io.StoredTensor;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.testing.Registered;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Numeric guards: with --detect-anomaly every backend stops at the first non-finite value and
 * names where it appeared; without it, a NaN loss stops training at once, naming the step and the
 * first broken tensor, and no checkpoint is written from a broken state.
 */
class NumericGuardsTest {
    @TempDir
    Path tmp;

    /** A state whose layer2.0.conv1.weight holds one NaN: the first non-finite output is layer2.0's. */
    static Map<String, StoredTensor> poisoned(MocoConfig c) {
        Map<String, StoredTensor> init = new LinkedHashMap<>(FreshState.of(c, 3));
        String name = "encoder_q.layer2.0.conv1.weight";
        double[] w = init.get(name).toDoubles();
        w[5] = Double.NaN;
        init.put(name, StoredTensor.f64(w, init.get(name).shape()));
        return init;
    }

    @TestFactory
    Stream<DynamicTest> detectAnomalyNamesTheFirstNonFiniteLayer() {
        MocoConfig c = BackendSuiteTest.gradConfig(MocoConfig.Mechanism.MOCO);
        return Registered.backends(2).stream().map(b -> dynamicTest(b.name(), () -> {
            Backend checked = b.detectingAnomalies();
            try (MocoModel m = checked.create(c, poisoned(c), "poisoned")) {
                Diverged e = assertThrows(Diverged.class, () -> m.step(BackendSuiteTest.input(c, 4)));
                assertTrue(e.getMessage().contains("layer2.0") && e.getMessage().contains("NaN") && e.getMessage().contains("step 1"),
                        e.getMessage());
            }
            try (MocoModel m = checked.create(c, FreshState.of(c, 3), "fine")) {
                m.step(BackendSuiteTest.input(c, 4)); // nothing to find in a healthy step
            }
        }));
    }

    private int run(ByteArrayOutputStream err, String... args) {
        PrintStream savedOut = System.out, savedErr = System.err;
        try {
            System.setOut(new PrintStream(new ByteArrayOutputStream()));
            System.setErr(new PrintStream(err));
            return Main.run(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    @Test
    void aDivergingRunStopsAtOnceNamingTheStepAndWritesNoCheckpoint() throws Exception {
        SyntheticData.writeIdx(tmp.resolve("data"), 64, 24, 28, 28, false, 5);
        Path out = tmp.resolve("run");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = run(err, "train", "--data", tmp.resolve("data").toString(), "--out", out.toString(), "--epochs", "2",
                "--width", "4", "--image-size", "16", "--batch-size", "16", "--moco-k", "32", "--moco-dim", "16", "--lr", "1e30",
                "--no-baselines", "--knn-k", "5", "--threads", "2");
        String msg = err.toString().strip();
        assertEquals(1, code, msg);
        assertTrue(msg.contains("diverged") && msg.contains("epoch 1, step") && !msg.contains("\n"), msg);
        assertFalse(Files.exists(out.resolve("checkpoint_last.safetensors")), "a checkpoint of a broken state was written");
        ByteArrayOutputStream err2 = new ByteArrayOutputStream();
        code = run(err2, "train", "--data", tmp.resolve("data").toString(), "--out", tmp.resolve("run2").toString(), "--epochs", "1",
                "--width", "4", "--image-size", "16", "--batch-size", "16", "--moco-k", "32", "--moco-dim", "16", "--lr", "1e30",
                "--no-baselines", "--knn-k", "5", "--threads", "2", "--detect-anomaly");
        assertEquals(1, code, err2.toString());
        assertTrue(err2.toString().contains("--detect-anomaly") && err2.toString().contains("holds"), err2.toString());
    }
}
