package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.parallel.WorkerPool;
import mocoref.reference.Conv2d;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The weight gradient's bookkeeping where each thread's positions span several chunks of several
 * blocks (the deep layers' case: 512 positions a chunk at 128 channels), direct, strided and 1x1
 * strided, and of several chunks of one block (128 positions at 512 channels). Inputs and output gradients are small integers, so every product and every partial sum
 * is exact in float32 whatever the order: the result must equal the reference layer's exactly, and a
 * position, chunk or block counted twice or missed shows as a wrong integer. (Random Gaussians
 * with this many terms would need the tolerance the twin tests' small cases do not.)
 */
class WeightGradientChunksTest {
    @Test
    void severalChunksOfSeveralBlocksSumExactly() {
        WorkerPool pool = WorkerPool.shared(2);
        CpuDevice device = new CpuDevice(Kernels.INSTANCE, pool);
        Random rng = new Random(13);
        // in, out, kernel, stride, padding, n, h, w
        // (the last two: chunks of one block, added straight into the partial: 512 channels, and dW's
        // two copies over WeightGradient.ONE_BLOCK_SUMS with a small halo)
        int[][] cases = {{128, 8, 3, 1, 1, 3, 28, 28}, {64, 16, 3, 2, 1, 4, 28, 28}, {128, 16, 1, 2, 0, 8, 14, 14}, {32, 8, 3, 1, 1, 6, 28, 28},
                {512, 4, 3, 1, 1, 20, 4, 4}, {128, 128, 3, 1, 1, 6, 7, 7}};
        for (int[] s : cases) {
            String tag = Arrays.toString(s);
            int in = s[0], out = s[1], k = s[2], stride = s[3], pad = s[4], n = s[5], h = s[6], w = s[7];
            Device.ConvShape shape = new Device.ConvShape(in, out, k, stride, pad, n, h, w);
            int oh = shape.outH(), ow = shape.outW(), wn = out * in * k * k;
            Buffer weights = device.buffer(wn), grad = device.buffer(wn);
            ParamRef param = new ParamRef(weights, grad, 0, wn);
            CpuConv2d conv = new CpuConv2d(shape, param, device.plane(n, h, w), device.plane(n, oh, ow), Kernels.INSTANCE, pool, device);
            float[] x = integers(rng, n * in * h * w), dy = integers(rng, n * out * oh * ow);
            Activation xa = device.activation(n, in, h, w), dya = device.activation(n, out, oh, ow);
            device.writeImages(x, 0, xa);
            device.writeImages(dy, 0, dya);
            conv.backwardWeight(dya, xa);
            // the reference layer's weight gradient, in double: exact here as in float32
            Conv2d ref = new Conv2d(in, out, k, stride, pad);
            ref.forward(tensor(x, n, in, h, w));
            ref.backward(tensor(dy, n, out, oh, ow));
            double[] expected = ref.weight.grad.data;
            float[] dw = CpuDevice.data(grad);
            for (int i = 0; i < wn; i++) assertEquals(expected[i], dw[i], 0.0, tag + " dW at " + i);
        }
    }

    private static Tensor tensor(float[] values, int... shape) {
        Tensor t = new Tensor(shape);
        for (int i = 0; i < values.length; i++) t.data[i] = values[i];
        return t;
    }

    /** Values in {-2, ..., 2}: products and sums of a few thousand of them are exact in float32. */
    private static float[] integers(Random rng, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = rng.nextInt(5) - 2;
        return v;
    }
}
