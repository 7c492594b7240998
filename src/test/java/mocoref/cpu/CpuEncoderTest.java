package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.reference.ReferenceEncoder;
import mocoref.reference.ResNet;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The cpu backend's eval-mode encoder against the float64 {@link ReferenceEncoder}, elementwise
 * within {@code 1e-5 + 1e-4 |ref|} (CpuTwinTest's tolerance), on states whose running statistics are
 * not the initial ones, on batch sizes that make it rebuild, pad a partial batch and split one
 * larger than {@link CpuEncoder#MAX_BATCH}.
 */
class CpuEncoderTest {
    static final double ATOL = 1e-5, RTOL = 1e-4;
    final Random rng = new Random(11);

    /** A torchvision-initialized state under {@code prefix}, with random running statistics and affine BN. */
    Map<String, StoredTensor> state(ResNetConfig config, String prefix) {
        ResNet net = new ResNet(config);
        net.initialize(5);
        Map<String, StoredTensor> s = new HashMap<>(net.stateDict(prefix));
        for (Map.Entry<String, StoredTensor> e : Map.copyOf(s).entrySet()) {
            String name = e.getKey();
            boolean stat = name.endsWith("running_mean") || name.endsWith("running_var");
            boolean bn = stat || ((name.endsWith(".weight") || name.endsWith(".bias")) && e.getValue().shape().length == 1
                    && !name.contains("fc"));
            if (!bn) continue;
            double[] v = e.getValue().toDoubles();
            for (int i = 0; i < v.length; i++) {
                v[i] = name.endsWith("running_var") ? 0.5 + rng.nextDouble()
                        : name.endsWith(".weight") ? 1 + 0.3 * rng.nextGaussian() : 0.2 * rng.nextGaussian();
            }
            s.put(name, StoredTensor.f64(v, e.getValue().shape()));
        }
        return s;
    }

    Tensor images(int n, int c, int h, int w) {
        Tensor t = new Tensor(n, c, h, w);
        for (int i = 0; i < t.numel(); i++) t.data[i] = rng.nextGaussian();
        return t;
    }

    static void twin(String what, float[] ref, float[] actual) {
        assertEquals(ref.length, actual.length, what + ": lengths");
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs((double) actual[i] - ref[i]);
            if (!(err <= ATOL + RTOL * Math.abs(ref[i]))) {
                throw new AssertionError(what + ": at " + i + " cpu " + actual[i] + " vs reference " + ref[i]);
            }
        }
    }

    void compare(ResNetConfig config, String prefix, int threads, int[] batches, int c, int h, int w) {
        Map<String, StoredTensor> s = state(config, prefix);
        Encoder ref = new ReferenceEncoder(config, s, prefix, "test state");
        Encoder cpu = new CpuBackend(threads).encoder(config, s, prefix, "test state");
        for (int n : batches) {
            String tag = config + " n=" + n + " " + h + "x" + w + " threads=" + threads;
            Tensor x = images(n, c, h, w);
            Encoder.Encoded r = ref.encode(x), e = cpu.encode(x);
            assertEquals(r.n(), e.n(), tag);
            assertEquals(r.featureDim(), e.featureDim(), tag);
            assertEquals(r.dim(), e.dim(), tag);
            twin("features " + tag, r.features(), e.features());
            twin("embeddings " + tag, r.embeddings(), e.embeddings());
        }
    }

    @Test
    void cifarStemMlpHeadMatchesReference() {
        ResNetConfig config = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
        // grows 3 -> 5, then pads 2 into the 5-image model, then splits 300 into 256 + 44 (padded)
        compare(config, "encoder_q.", 2, new int[] {3, 5, 2}, 1, 9, 11);
        compare(config, "", 1, new int[] {300}, 1, 6, 5);
    }

    @Test
    void imagenetStemAndBottleneckMatchReference() {
        ResNetConfig basic = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {2, 1, 1, 1}, 4, 3, ResNetConfig.Stem.IMAGENET, 6, false);
        compare(basic, "encoder_k.", 2, new int[] {4}, 3, 17, 15);
        ResNetConfig bottleneck = new ResNetConfig(ResNetConfig.Block.BOTTLENECK, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
        compare(bottleneck, "", 2, new int[] {3}, 1, 8, 8);
    }

    @Test
    void missingOrMisshapenTensorsFailAtConstruction() {
        ResNetConfig config = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
        Map<String, StoredTensor> s = state(config, "");
        s.remove("layer2.0.bn1.running_var");
        MocoRefException e = assertThrows(MocoRefException.class, () -> new CpuBackend(1).encoder(config, s, "", "ckpt.safetensors"));
        assertNotNull(e.getMessage());
        assertEquals(true, e.getMessage().contains("layer2.0.bn1.running_var") && e.getMessage().contains("ckpt.safetensors"), e.getMessage());
    }
}
