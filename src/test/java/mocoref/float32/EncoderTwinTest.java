package mocoref.float32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.golden.GoldenReport;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.model.ResNetLayout;
import mocoref.reference.Param;
import mocoref.reference.ReferenceEncoder;
import mocoref.reference.ResNet;
import mocoref.tensor.Tensor;
import mocoref.testing.Registered;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * The float32 encoder, written once over {@link Device}, against the float64 reference ResNet on
 * every registered device:
 * <ul>
 * <li>training: head output, every parameter's gradient, every running statistic, each within the
 *     golden cases' float32 tolerance ({@code |a - e| / |e| <= 2e-4} over the tensor), with a
 *     forward-only encoder on the same {@link ActivationPool} running on other images between the
 *     forward and the backward, as the key encoder does in a step: a wrongly shared activation
 *     fails it;</li>
 * <li>eval mode: features and embeddings elementwise within {@code 1e-5 + 1e-4 |ref|} (the twins'
 *     tolerance), on states with random running statistics, for batches smaller than, equal to and
 *     larger than the encoder's pass.</li>
 * </ul>
 */
class EncoderTwinTest {
    static final double TOL = 2e-4, ATOL = 1e-5, RTOL = 1e-4;

    @TestFactory
    Stream<DynamicNode> encodersMatchTheReference() {
        return Registered.float32(2).stream().map(b -> dynamicContainer(b.name(), List.of(
                dynamicTest("train: basic blocks, imagenet stem, two devices", () -> train(b, new ResNetConfig(ResNetConfig.Block.BASIC,
                        new int[] {2, 2, 1, 1}, 16, 3, ResNetConfig.Stem.IMAGENET, 8, true), 16, new int[] {3, 24, 24}, 2)),
                dynamicTest("train: bottleneck blocks, cifar stem", () -> train(b, new ResNetConfig(ResNetConfig.Block.BOTTLENECK,
                        new int[] {1, 2, 1, 1}, 16, 1, ResNetConfig.Stem.CIFAR, 8, false), 16, new int[] {1, 12, 12}, 2)),
                // small images whose last stages are 1x1: a stride-2 convolution maps 1x1 to 1x1 (one geometry in and out)
                dynamicTest("train: stride 2 on 1x1 maps, imagenet stem at 16 px", () -> train(b, new ResNetConfig(ResNetConfig.Block.BASIC,
                        new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.IMAGENET, 8, true), 16, new int[] {1, 16, 16}, 2)),
                dynamicTest("train: stride 2 on 1x1 maps, bottleneck, imagenet stem at 16 px", () -> train(b, new ResNetConfig(
                        ResNetConfig.Block.BOTTLENECK, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.IMAGENET, 8, false), 16,
                        new int[] {1, 16, 16}, 2)),
                dynamicTest("train: stride 2 on 1x1 maps, cifar stem at 3 px", () -> train(b, new ResNetConfig(ResNetConfig.Block.BASIC,
                        new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true), 16, new int[] {1, 3, 3}, 2)),
                dynamicTest("train: 1x1 from the stem on (max-pool of a 1x1 map), imagenet stem at 2 px", () -> train(b,
                        new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.IMAGENET, 8, true),
                        16, new int[] {1, 2, 2}, 2)),
                dynamicTest("eval: cifar stem, mlp head, growing and partial batches", () -> {
                    ResNetConfig c = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
                    eval(b, c, "encoder_q.", new int[] {3, 5, 2}, 1, 9, 11); // grows 3 -> 5, then pads 2 into the 5-image model
                    eval(b, c, "", new int[] {300}, 1, 6, 5); // 256 + 44 (padded)
                }),
                dynamicTest("eval: imagenet stem, bottleneck", () -> {
                    eval(b, new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {2, 1, 1, 1}, 4, 3, ResNetConfig.Stem.IMAGENET, 6, false),
                            "encoder_k.", new int[] {4}, 3, 17, 15);
                    eval(b, new ResNetConfig(ResNetConfig.Block.BOTTLENECK, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true),
                            "", new int[] {3}, 1, 8, 8);
                }),
                dynamicTest("eval: a missing or misshapen tensor fails at construction, naming it", () -> {
                    ResNetConfig c = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
                    Map<String, StoredTensor> s = state(c, "", new Random(1));
                    s.remove("layer2.0.bn1.running_var");
                    MocoRefException e = assertThrows(MocoRefException.class, () -> b.encoder(c, s, "", "ckpt.safetensors"));
                    assertTrue(e.getMessage().contains("layer2.0.bn1.running_var") && e.getMessage().contains("ckpt.safetensors"), e.getMessage());
                    Map<String, StoredTensor> s2 = state(c, "", new Random(1));
                    s2.put("fc.2.bias", StoredTensor.f64(new double[7], 7));
                    e = assertThrows(MocoRefException.class, () -> b.encoder(c, s2, "", "ckpt.safetensors"));
                    assertTrue(e.getMessage().contains("fc.2.bias") && e.getMessage().contains("[7]"), e.getMessage());
                }))));
    }

    static Tensor images(Random rng, int n, int c, int h, int w) {
        Tensor t = new Tensor(n, c, h, w);
        for (int i = 0; i < t.numel(); i++) t.data[i] = (float) rng.nextGaussian();
        return t;
    }

    static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** ||actual - ref|| / ||ref|| <= TOL, as {@code moco-ref golden verify} measures. */
    static void close(String what, double[] ref, float[] actual) {
        assertEquals(ref.length, actual.length, what + ": lengths");
        double[] a = new double[actual.length];
        for (int i = 0; i < a.length; i++) a[i] = actual[i];
        double rel = GoldenReport.relativeError(a, ref);
        if (!(rel <= TOL)) throw new AssertionError(what + ": relative error " + rel + " > " + TOL);
    }

    static void train(Float32Backend backend, ResNetConfig config, int n, int[] image, int groups) {
        Random rng = new Random(21);
        ResNet ref = new ResNet(config), other = new ResNet(config);
        ref.initialize(3);
        other.initialize(4);
        try (Device device = backend.newDevice()) {
            ResNetLayout layout = ResNetLayout.of(config);
            ActivationPool pool = new ActivationPool(device);
            EncoderWeights w = new EncoderWeights(device, layout, true), wk = new EncoderWeights(device, layout, false);
            w.load(ref.stateDict("")::get, "", "test state");
            wk.load(other.stateDict("")::get, "", "test state");
            Float32ResNet net = new Float32ResNet(device, w, n, image, groups, true, pool);
            Float32ResNet keys = new Float32ResNet(device, wk, n, image, groups, false, pool);
            for (int step = 0; step < 2; step++) {
                String tag = config + " step " + step;
                Tensor x = images(rng, n, image[0], image[1], image[2]);
                device.writeImages(floats(x.data), 0, net.input());
                Buffer out = net.forward(groups);
                close("output " + tag, ref.forward(x, groups).data, read(device, out, n * config.dim()));

                Tensor xk = images(rng, n, image[0], image[1], image[2]);
                device.writeImages(floats(xk.data), 0, keys.input());
                close("key output " + tag, other.forward(xk, groups).data, read(device, keys.forward(groups), n * config.dim()));

                Tensor dy = images(rng, n, config.dim(), 1, 1);
                ref.zeroGrad();
                ref.backward(new Tensor(dy.data, n, config.dim()));
                w.zeroGrad();
                Buffer dOut = device.buffer((long) n * config.dim());
                device.write(floats(dy.data), 0, dOut, 0, n * config.dim());
                net.backward(dOut);
                int compared = 0;
                for (EncoderWeights.Entry e : w.entries()) {
                    Param p = ref.parameters().get(e.name());
                    float[] g = new float[e.size()];
                    device.read(w.grad, e.offset(), g, 0, e.size());
                    close("grad " + e.name() + " " + tag, p.grad.data, g);
                    compared++;
                }
                assertEquals(ref.parameters().size(), compared, tag);
                Map<String, StoredTensor> mine = w.stateDict(""), theirs = ref.stateDict("");
                for (String name : theirs.keySet()) {
                    if (name.endsWith("num_batches_tracked")) assertEquals(theirs.get(name), mine.get(name), name);
                    if (!name.endsWith("running_mean") && !name.endsWith("running_var")) continue;
                    close(name + " " + tag, theirs.get(name).toDoubles(), mine.get(name).toFloats());
                }
            }
        }
    }

    static float[] read(Device d, Buffer b, int n) {
        float[] out = new float[n];
        d.read(b, 0, out, 0, n);
        return out;
    }

    /** A torchvision-initialized state under {@code prefix}, with random running statistics and affine BN. */
    static Map<String, StoredTensor> state(ResNetConfig config, String prefix, Random rng) {
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

    static void twin(String what, float[] ref, float[] actual) {
        assertEquals(ref.length, actual.length, what + ": lengths");
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs((double) actual[i] - ref[i]);
            if (!(err <= ATOL + RTOL * Math.abs(ref[i]))) {
                throw new AssertionError(what + ": at " + i + " " + actual[i] + " vs reference " + ref[i]);
            }
        }
    }

    static void eval(Float32Backend backend, ResNetConfig config, String prefix, int[] batches, int c, int h, int w) {
        Random rng = new Random(11);
        Map<String, StoredTensor> s = state(config, prefix, rng);
        Encoder ref = new ReferenceEncoder(config, s, prefix, "test state");
        try (Encoder mine = backend.encoder(config, s, prefix, "test state")) {
            for (int n : batches) {
                String tag = backend.name() + " " + config + " n=" + n + " " + h + "x" + w;
                ImageBatch x = ImageBatch.of(images(rng, n, c, h, w));
                Encoder.Encoded r = ref.encode(x), e = mine.encode(x);
                assertEquals(r.n(), e.n(), tag);
                assertEquals(r.featureDim(), e.featureDim(), tag);
                assertEquals(r.dim(), e.dim(), tag);
                twin("features " + tag, r.features(), e.features());
                twin("embeddings " + tag, r.embeddings(), e.embeddings());
            }
        }
    }
}
