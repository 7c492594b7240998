package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Random;
import mocoref.golden.GoldenReport;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.reference.Param;
import mocoref.reference.ResNet;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * A whole trainable cpu encoder, forward and backward in training mode over G devices, against the
 * float64 {@link ResNet}: head output, every parameter's gradient, every running statistic, each
 * within the golden cases' float32 tolerance ({@code |a - e| / |e| <= 2e-4} over the tensor; a
 * whole network's float32 gradients miss the per-element twin tolerance where sums cancel). Between its forward and backward a forward-only
 * encoder on the same {@link Workspace} runs on other images, as the key encoder does in a MoCo step,
 * so a buffer shared wrongly between the two (or between blocks) shows up as a wrong gradient. Two
 * steps in a row, on different images, catch state left over from the first.
 */
class CpuResNetTrainTest {
    final Random rng = new Random(21);

    Tensor images(int n, int c, int h, int w) {
        Tensor t = new Tensor(n, c, h, w);
        for (int i = 0; i < t.numel(); i++) t.data[i] = rng.nextGaussian();
        return t;
    }

    static final double TOL = 2e-4;

    /** ||actual - ref|| / ||ref|| <= TOL, as {@code moco-ref golden verify --backend cpu} measures. */
    static void close(String what, double[] ref, float[] actual) {
        assertEquals(ref.length, actual.length, what + ": lengths");
        double[] a = new double[actual.length];
        for (int i = 0; i < a.length; i++) a[i] = actual[i];
        double rel = GoldenReport.relativeError(a, ref);
        if (!(rel <= TOL)) throw new AssertionError(what + ": relative error " + rel + " > " + TOL);
    }

    void compare(ResNetConfig config, int n, int[] image, int groups) {
        ResNet ref = new ResNet(config);
        ref.initialize(3);
        ResNet other = new ResNet(config);
        other.initialize(4);
        WorkerPool pool = WorkerPool.shared(2);
        Workspace ws = new Workspace();
        CpuResNet cpu = new CpuResNet(config, n, image, groups, true, Kernels.INSTANCE, pool, ws);
        CpuResNet keys = new CpuResNet(config, n, image, groups, false, Kernels.INSTANCE, pool, ws);
        Map<String, StoredTensor> state = ref.stateDict("");
        cpu.loadStateDict(state::get, "", "test state");
        Map<String, StoredTensor> otherState = other.stateDict("");
        keys.loadStateDict(otherState::get, "", "test state");
        for (int step = 0; step < 2; step++) {
            String tag = config + " step " + step;
            Tensor x = images(n, image[0], image[1], image[2]);
            Tensor y = ref.forward(x, groups);
            float[] out = cpu.forward(x.data, null, groups);
            close("output " + tag, y.data, out);

            Tensor xk = images(n, image[0], image[1], image[2]);
            close("key output " + tag, other.forward(xk, groups).data, keys.forward(xk.data, null, groups));

            Tensor dy = new Tensor(n, config.dim());
            float[] dOut = new float[dy.numel()];
            for (int i = 0; i < dOut.length; i++) {
                dOut[i] = (float) rng.nextGaussian();
                dy.data[i] = dOut[i];
            }
            ref.zeroGrad();
            ref.backward(dy);
            cpu.params.zeroGrad();
            cpu.backward(dOut);
            int compared = 0;
            for (Params.Entry e : cpu.params.entries()) {
                Param p = ref.parameters().get(e.name());
                float[] g = java.util.Arrays.copyOfRange(cpu.params.grad, e.offset(), e.offset() + e.size());
                close("grad " + e.name() + " " + tag, p.grad.data, g);
                compared++;
            }
            assertEquals(ref.parameters().size(), compared, tag);
            Map<String, StoredTensor> cpuState = cpu.stateDict(""), refState = ref.stateDict("");
            for (String name : refState.keySet()) {
                if (!name.endsWith("running_mean") && !name.endsWith("running_var")) continue;
                close(name + " " + tag, refState.get(name).toDoubles(), cpuState.get(name).toFloats());
            }
        }
    }

    @Test
    void basicImagenetStemTwoDevices() {
        ResNetConfig config = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {2, 2, 1, 1}, 16, 3, ResNetConfig.Stem.IMAGENET, 8, true);
        compare(config, 16, new int[] {3, 24, 24}, 2);
    }

    @Test
    void bottleneckCifarStem() {
        ResNetConfig config = new ResNetConfig(ResNetConfig.Block.BOTTLENECK, new int[] {1, 2, 1, 1}, 16, 1, ResNetConfig.Stem.CIFAR, 8, false);
        compare(config, 16, new int[] {1, 12, 12}, 2);
    }
}
