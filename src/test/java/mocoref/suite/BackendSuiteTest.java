package mocoref.suite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import mocoref.backend.Backend;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.data.SyntheticData;
import mocoref.golden.GoldenCase;
import mocoref.golden.GoldenReport;
import mocoref.golden.GoldenRunner;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.MocoConfig.Mechanism;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Permutations;
import mocoref.testing.ErrorLog;
import mocoref.testing.Registered;
import mocoref.train.Plots;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every registered backend must do, run once per backend from the registry (a new backend
 * gets all of it by registering):
 * <ul>
 * <li><b>golden cases</b>: every committed case (made by PyTorch float64 from the spec), every
 *     tensor of expected.safetensors within {@code ||a - e|| / ||e||} 1e-9 for a float64 backend,
 *     2e-4 for a float32 one on the cases that hold float32 ({@code case.json}'s float32.held), as
 *     {@code moco-ref golden verify} judges; float32 backends on 1 and 2 threads;</li>
 * <li><b>gradient check</b>: the gradient a step computes (read back as SGD's first momentum buffer,
 *     with lr 0, momentum 0, wd 0) against central differences of the same backend's loss along
 *     the whole gradient and along single tensors' gradients, with m = 1 so that the keys do not
 *     move with encoder_q;</li>
 * <li><b>the eval encoder shares the trained weights</b>: after steps, {@code encoderQ()} encodes as
 *     an encoder built from {@code state()} does, bit for bit;</li>
 * <li><b>resume</b>: a run stopped after epoch 1 and resumed in a fresh JVM ends bit for bit where
 *     an uninterrupted run (another fresh JVM) ends: every tensor of the final checkpoint, every
 *     metrics line.</li>
 * </ul>
 */
class BackendSuiteTest {
    static final Path CASES = Path.of("reference-tests/cases");

    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicNode> everyBackend() throws IOException {
        List<GoldenCase> cases = cases();
        assertTrue(cases.size() >= 8, "cases: " + cases);
        return Registered.backends(2).stream().map(b -> {
            List<DynamicNode> tests = new ArrayList<>();
            for (GoldenCase c : cases) {
                if (!b.isFloat64() && !c.float32Held()) continue;
                int[] threads = b.isFloat64() ? new int[] {0} : new int[] {1, 2};
                for (int t : threads) {
                    tests.add(dynamicTest("golden " + c.name() + (t > 0 ? " threads=" + t : ""), () -> golden(b.name(), t, c)));
                }
            }
            for (Mechanism mechanism : Mechanism.values()) {
                tests.add(dynamicTest("gradient check: " + mechanism.id(), () -> gradientCheck(b, mechanism)));
            }
            tests.add(dynamicTest("eval encoder shares the trained weights", () -> encoderSharesWeights(b)));
            tests.add(dynamicTest("resume in a fresh JVM is bit for bit", () -> resume(b.name())));
            return dynamicContainer(b.name(), tests);
        });
    }

    static List<GoldenCase> cases() throws IOException {
        try (Stream<Path> s = Files.list(CASES)) {
            return s.filter(Files::isDirectory).sorted().map(GoldenCase::load).toList();
        }
    }

    static void golden(String backend, int threads, GoldenCase c) {
        Backend b = mocoref.registry.Backends.byName(backend, threads);
        double tolerance = b.isFloat64() ? 1e-9 : 2e-4;
        GoldenReport report = GoldenReport.compare(SafeTensors.read(c.expectedFile()), GoldenRunner.run(c, b), tolerance);
        assertTrue(report.failed() == 0 && !report.lines().isEmpty(), String.join("\n", report.format()));
    }

    // ---- gradient check ------------------------------------------------------------------------

    static final ResNetConfig TINY = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1,
            ResNetConfig.Stem.CIFAR, 8, true);

    /**
     * lr 0, momentum 0, wd 0: the first momentum buffer is the gradient. MoCo with m = 1, so that
     * its keys do not move with encoder_q (they get no gradient); end-to-end's keys do, and get it.
     */
    static MocoConfig gradConfig(Mechanism mechanism) {
        return new MocoConfig(TINY, mechanism == Mechanism.END_TO_END ? 7 : 16, 1.0, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT,
                0, 0, false, 0.0, 0.0, 0.0, 8, new int[] {1, 10, 10}, mechanism, true);
    }

    static final int BANK_ROWS = 24;

    static StepInput input(MocoConfig c, long seed) {
        Random rng = new Random(seed);
        int n = c.batch(), size = n * 100;
        float[] q = new float[size], k = new float[size];
        for (int i = 0; i < size; i++) {
            q[i] = (float) rng.nextGaussian();
            k[i] = (float) rng.nextGaussian();
        }
        int[] index = java.util.Arrays.copyOf(Permutations.random(rng, BANK_ROWS), n);
        int[] negatives = rng.ints(c.K(), 0, BANK_ROWS).toArray();
        return new StepInput(ImageBatch.of(q, n, 1, 10, 10), ImageBatch.of(k, n, 1, 10, 10), Permutations.random(rng, n), null,
                c.m(), c.lr(), false, index, negatives);
    }

    static double loss(Backend b, MocoConfig c, Map<String, StoredTensor> init, StepInput in) {
        try (MocoModel m = b.create(c, init, "gradient check")) {
            return m.step(in).loss();
        }
    }

    static void gradientCheck(Backend b, Mechanism mechanism) {
        MocoConfig c = gradConfig(mechanism);
        Map<String, StoredTensor> init = FreshState.of(c, 3, BANK_ROWS);
        StepInput in = input(c, 4);
        Map<String, double[]> grad = new LinkedHashMap<>();
        try (MocoModel m = b.create(c, init, "gradient check")) {
            m.step(in);
            m.state().forEach((name, t) -> {
                if (name.startsWith("optimizer.encoder_q.")) {
                    grad.put(name.substring("optimizer.".length(), name.length() - ".momentum_buffer".length()), t.toDoubles());
                }
            });
        }
        assertEquals(mocoref.model.ResNetLayout.of(TINY).parameters().size(), grad.size(), "parameters with a gradient: " + grad.keySet());
        List<List<String>> directions = new ArrayList<>();
        directions.add(List.copyOf(grad.keySet()));
        if (b.isFloat64()) {
            for (String one : List.of("encoder_q.conv1.weight", "encoder_q.bn1.weight", "encoder_q.layer2.0.conv1.weight",
                    "encoder_q.layer2.0.downsample.0.weight", "encoder_q.layer3.0.bn2.bias", "encoder_q.layer4.0.conv2.weight",
                    "encoder_q.fc.0.weight", "encoder_q.fc.2.bias")) {
                directions.add(List.of(one));
            }
        } else {
            // per tensor, a float32 loss is too coarse for differences (its rounding and the ReLU kinks a
            // large enough step crosses reach 3% on single small tensors); there the gradient must equal
            // the float64 reference's, which the differences above and the golden cases pin down
            Map<String, StoredTensor> ref;
            try (MocoModel m = new mocoref.reference.ReferenceBackend().create(c, init, "gradient check")) {
                m.step(in);
                ref = m.state();
            }
            for (String t : grad.keySet()) {
                double[] r = ref.get("optimizer." + t + ".momentum_buffer").toDoubles();
                double rel = GoldenReport.relativeError(grad.get(t), r);
                ErrorLog.record("gradient vs reference " + b.name() + " " + mechanism.id(), t, rel);
                assertTrue(rel <= 2e-4, b.name() + ": the gradient of " + t + " differs from the reference's by " + rel + " > 2e-4");
            }
        }
        // float64: the differences are exact to ~1e-10 at h 1e-6 (measured: at most 2.3e-9 over the three
        // mechanisms). float32: the loss carries rounding of ~1e-6 relative; along the whole gradient
        // (the strongest signal) h 1e-3 keeps both that and the ReLU kinks small (measured: 1.2e-4 moco,
        // 8.9e-4 end-to-end, 1.3e-3 memory bank)
        double h = b.isFloat64() ? 1e-6 : 1e-3, tolerance = b.isFloat64() ? 1e-6 : 5e-3;
        for (List<String> tensors : directions) {
            double norm = 0;
            for (String t : tensors) for (double g : grad.get(t)) norm += g * g;
            norm = Math.sqrt(norm);
            assertTrue(norm > 1e-6, "no gradient along " + tensors);
            double plus = loss(b, c, shifted(init, grad, tensors, h / norm), in);
            double minus = loss(b, c, shifted(init, grad, tensors, -h / norm), in);
            double fd = (plus - minus) / (2 * h), rel = Math.abs(fd - norm) / norm;
            String what = tensors.size() > 1 ? "all parameters" : tensors.get(0);
            ErrorLog.record("gradient check " + b.name() + " " + mechanism.id(), what, rel);
            assertTrue(rel <= tolerance, b.name() + ": along " + what + " the loss changes at " + fd + ", the gradient says " + norm
                    + " (relative error " + rel + " > " + tolerance + ")");
        }
    }

    /** init with encoder_q's {@code tensors} moved by {@code scale} times their gradient. */
    static Map<String, StoredTensor> shifted(Map<String, StoredTensor> init, Map<String, double[]> grad, List<String> tensors,
                                             double scale) {
        Map<String, StoredTensor> s = new LinkedHashMap<>(init);
        for (String t : tensors) {
            double[] v = init.get(t).toDoubles(), g = grad.get(t);
            for (int i = 0; i < v.length; i++) v[i] += scale * g[i];
            s.put(t, StoredTensor.f64(v, init.get(t).shape()));
        }
        return s;
    }

    // ---- the eval encoder ----------------------------------------------------------------------

    static void encoderSharesWeights(Backend b) {
        MocoConfig c = new MocoConfig(TINY, 16, 0.9, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.5, 0.9, 1e-4, 8, new int[] {1, 10, 10});
        try (MocoModel m = b.create(c, FreshState.of(c, 5, BANK_ROWS), "shared encoder")) {
            Encoder shared = m.encoderQ();
            StepInput first = input(c, 6);
            Encoder.Encoded before = shared.encode(first.imQ());
            for (int s = 0; s < 3; s++) m.step(input(c, 7 + s));
            Encoder.Encoded after = shared.encode(first.imQ());
            Encoder.Encoded fromState = b.encoder(TINY, m.state(), "encoder_q.", "state").encode(first.imQ());
            assertArrayEquals(fromState.features(), after.features(), "features follow the training");
            assertArrayEquals(fromState.embeddings(), after.embeddings());
            assertTrue(!java.util.Arrays.equals(before.features(), after.features()), "three steps at lr 0.5 changed nothing");
        }
    }

    // ---- resume --------------------------------------------------------------------------------

    void resume(String backend) throws Exception {
        Path data = tmp.resolve("data-" + backend);
        SyntheticData.writeIdx(data, 64, 24, 28, 28, true, 3);
        Path straight = tmp.resolve("straight-" + backend), interrupted = tmp.resolve("interrupted-" + backend);
        run(backend, data, straight, 2, "fresh");
        run(backend, data, interrupted, 1, "fresh");
        run(backend, data, interrupted, 2, "resume");
        Map<String, StoredTensor> a = SafeTensors.read(straight.resolve("checkpoint_last.safetensors")).tensors();
        Map<String, StoredTensor> b = SafeTensors.read(interrupted.resolve("checkpoint_last.safetensors")).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) {
            if (a.get(name).dtype() == DType.I64) {
                assertArrayEquals(a.get(name).toLongs(), b.get(name).toLongs(), name);
            } else {
                assertArrayEquals(a.get(name).toDoubles(), b.get(name).toDoubles(), 0.0, name); // bit for bit
            }
        }
        List<String> ma = Files.readAllLines(straight.resolve(Plots.METRICS)), mb = Files.readAllLines(interrupted.resolve(Plots.METRICS));
        assertEquals(2, ma.size());
        assertEquals(2, mb.size());
        for (int i = 0; i < 2; i++) assertEquals(withoutTimings(ma.get(i)), withoutTimings(mb.get(i)));
    }

    static void run(String backend, Path data, Path out, int until, String mode) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xss8m", "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                TrainProcess.class.getName(), backend, "2", data.toString(), out.toString(), Integer.toString(until), mode)
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), backend + " " + mode + " until epoch " + until + ":\n" + log);
    }

    /** Wall-clock fields differ between runs; everything computed must not. */
    static String withoutTimings(String line) {
        return line.replaceAll("\"(images_per_s|epoch_s|data_wait_fraction|wall_s)\":[^,}]+", "");
    }
}
