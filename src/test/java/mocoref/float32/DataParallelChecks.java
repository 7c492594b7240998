package mocoref.float32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.backend.StepInput;
import mocoref.device.DataParallelDevice;
import mocoref.device.Device;
import mocoref.golden.GoldenCase;
import mocoref.golden.GoldenReport;
import mocoref.golden.GoldenRunner;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Permutations;
import mocoref.testing.ErrorLog;

/**
 * What a {@link DataParallelDevice} over D devices must do, for any kind of device (two cpu devices,
 * two PoCL sub-devices): every golden case it can run (batch and G multiples of D, float32-held)
 * within the golden tolerance 2e-4 of the expected tensors and of the same case on one device; the
 * replicas bit-identical after training steps; eval batches that D does not divide (uneven shares, an
 * empty one) within the twins' elementwise tolerance of one device.
 */
public final class DataParallelChecks {
    static final double GOLDEN = 2e-4, ATOL = 1e-5, RTOL = 1e-4;

    private DataParallelChecks() {}

    static List<GoldenCase> cases(int d) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("reference-tests/cases"))) {
            return s.filter(Files::isDirectory).sorted().map(GoldenCase::load)
                    .filter(c -> c.float32Held() && c.config().batch() % d == 0 && c.config().devices() % d == 0).toList();
        }
    }

    /** Every runnable golden case on {@code parallel} (D devices) against the expected tensors and against {@code single}. */
    public static void golden(String what, Supplier<Device> single, Supplier<Device> parallel, int d) throws IOException {
        List<GoldenCase> cases = cases(d);
        assertTrue(cases.size() >= 6, "golden cases that " + d + " devices can run: " + cases);
        Float32Backend one = new Float32Backend("single", single), many = new Float32Backend(what, parallel);
        for (GoldenCase c : cases) {
            Map<String, StoredTensor> got = GoldenRunner.run(c, many);
            GoldenReport vsExpected = GoldenReport.compare(SafeTensors.read(c.expectedFile()), got, GOLDEN);
            assertTrue(vsExpected.failed() == 0, what + " " + c.name() + ":\n" + String.join("\n", vsExpected.format()));
            Map<String, StoredTensor> alone = GoldenRunner.run(c, one);
            double worst = 0;
            for (Map.Entry<String, StoredTensor> e : alone.entrySet()) {
                StoredTensor t = got.get(e.getKey());
                assertNotNull(t, e.getKey());
                if (t.dtype() == mocoref.io.DType.I64) {
                    assertEquals(java.util.Arrays.toString(e.getValue().toLongs()), java.util.Arrays.toString(t.toLongs()), e.getKey());
                    continue;
                }
                double rel = GoldenReport.relativeError(t.toDoubles(), e.getValue().toDoubles());
                assertTrue(rel <= GOLDEN || norm(e.getValue().toDoubles()) == 0, what + " " + c.name() + " " + e.getKey()
                        + ": relative error " + rel + " from one device");
                if (norm(e.getValue().toDoubles()) > 0) worst = Math.max(worst, rel);
            }
            ErrorLog.record("data parallel " + what, c.name() + " vs one device", worst / GOLDEN);
        }
    }

    private static double norm(double[] x) {
        double s = 0;
        for (double v : x) s += v * v;
        return Math.sqrt(s);
    }

    /** After training steps (G = 2D, an MLP head, the imagenet stem's max pool), every replica of the state holds the same bits. */
    public static void replicasIdentical(Supplier<Device> parallel, int d) {
        ResNetConfig model = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.IMAGENET, 8, true);
        MocoConfig config = new MocoConfig(model, 32, 0.9, 0.2, 2 * d, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.1, 0.9, 1e-4, 4 * d, new int[] {1, 20, 20});
        Device device = parallel.get();
        DataParallelDevice dp = (DataParallelDevice) device;
        try (Float32MoCo m = new Float32MoCo(config, FreshState.of(config, 3), "replicas", device)) {
            Random rng = new Random(5);
            for (int s = 0; s < 3; s++) {
                int n = config.batch(), size = n * 400;
                float[] q = new float[size], k = new float[size];
                for (int i = 0; i < size; i++) {
                    q[i] = (float) rng.nextGaussian();
                    k[i] = (float) rng.nextGaussian();
                }
                m.step(new StepInput(ImageBatch.of(q, n, 1, 20, 20), ImageBatch.of(k, n, 1, 20, 20), Permutations.random(rng, n), null,
                        config.m(), config.lr(), false));
            }
            for (Float32ResNet net : List.of(m.encoderQ, m.encoderK)) {
                assertTrue(dp.replicasIdentical(net.weights.value), "parameters of a replica differ");
                assertTrue(dp.replicasIdentical(net.weights.runningStats), "running statistics of a replica differ");
            }
            assertTrue(dp.replicasIdentical(m.queue), "a replica's queue differs");
        }
    }

    /** Eval batches of 1, 3 and 5 images (shares of 0, 1, 2 or 3 on D devices) as one device encodes them. */
    public static void unevenEval(Supplier<Device> single, Supplier<Device> parallel) {
        ResNetConfig c = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
        Map<String, StoredTensor> state = EncoderTwinTest.state(c, "", new Random(2));
        Float32Backend one = new Float32Backend("single", single), many = new Float32Backend("parallel", parallel);
        Random rng = new Random(3);
        try (Encoder a = one.encoder(c, state, "", "state"); Encoder b = many.encoder(c, state, "", "state")) {
            for (int n : new int[] {1, 3, 5}) {
                ImageBatch x = ImageBatch.of(EncoderTwinTest.images(rng, n, 1, 9, 11));
                Encoder.Encoded ea = a.encode(x), eb = b.encode(x);
                EncoderTwinTest.twin("features n=" + n, ea.features(), eb.features());
                EncoderTwinTest.twin("embeddings n=" + n, ea.embeddings(), eb.embeddings());
            }
        }
    }

    /** Spread over D devices, a G that D does not divide is a one-line error naming both. */
    public static String notDivisibleMessage(Supplier<Device> parallel, int d) {
        ResNetConfig model = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, false);
        MocoConfig config = new MocoConfig(model, 16, 0.9, 0.2, 1, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.1, 0.9, 1e-4, 2 * d, new int[] {1, 8, 8});
        List<String> messages = new ArrayList<>();
        try (Float32MoCo m = new Float32MoCo(config, FreshState.of(config, 3), "G=1", parallel.get())) {
            int n = config.batch();
            m.step(new StepInput(ImageBatch.of(new float[n * 64], n, 1, 8, 8), ImageBatch.of(new float[n * 64], n, 1, 8, 8),
                    Permutations.random(new Random(1), n), null, config.m(), config.lr(), false));
        } catch (mocoref.MocoRefException e) {
            messages.add(e.getMessage());
        }
        assertEquals(1, messages.size(), "G = 1 on " + d + " devices must be refused");
        return messages.get(0);
    }
}
