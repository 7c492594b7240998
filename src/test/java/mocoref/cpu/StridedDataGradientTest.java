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
 * The strided convolutions' data gradient by input residues, against the reference layer's (in
 * double): set and accumulated, with dx's memory holding other values first (every image position
 * must be set, the border must come out zero), on residues that cover every input position (3x3
 * pad 1) and on those that leave some unreached (1x1 stride 2: the odd positions' gradient is 0).
 */
class StridedDataGradientTest {
    @Test
    void residuesGiveTheReferenceGradient() {
        WorkerPool pool = WorkerPool.shared(2);
        CpuDevice device = new CpuDevice(Kernels.INSTANCE, pool);
        Random rng = new Random(5);
        // in, out, kernel, stride, padding, n, h, w: even and odd planes, ragged channel tiles, stride 3
        int[][] cases = {{16, 32, 3, 2, 1, 3, 8, 8}, {9, 20, 3, 2, 1, 2, 7, 9}, {13, 8, 1, 2, 0, 3, 7, 6},
                {20, 6, 3, 3, 1, 2, 10, 8}, {4, 5, 3, 2, 1, 1, 2, 3},
                {24, 80, 3, 2, 1, 2, 12, 12}, {12, 300, 1, 2, 0, 2, 6, 6}}; // residue products over 288 taps, in parts (4 x 80; 300)
        for (int[] s : cases) {
            String tag = Arrays.toString(s);
            int in = s[0], out = s[1], k = s[2], stride = s[3], pad = s[4], n = s[5], h = s[6], w = s[7];
            Device.ConvShape shape = new Device.ConvShape(in, out, k, stride, pad, n, h, w);
            int oh = shape.outH(), ow = shape.outW(), wn = out * in * k * k;
            Buffer weights = device.buffer(wn), grad = device.buffer(wn);
            float[] wt = gaussian(rng, wn);
            device.write(wt, 0, weights, 0, wn);
            Device.Conv2d conv = device.conv2d(shape, new ParamRef(weights, grad, 0, wn));
            float[] dyValues = gaussian(rng, n * out * oh * ow);
            Activation dy = device.activation(n, out, oh, ow);
            device.writeImages(dyValues, 0, dy);

            // the reference layer's input gradient (it depends on W and dY only, so the input is zeros)
            Conv2d ref = new Conv2d(in, out, k, stride, pad);
            for (int i = 0; i < wn; i++) ref.weight.value.data[i] = wt[i];
            ref.forward(new Tensor(n, in, h, w));
            Tensor dyTensor = new Tensor(n, out, oh, ow);
            for (int i = 0; i < dyValues.length; i++) dyTensor.data[i] = dyValues[i];
            double[] expected = ref.backward(dyTensor).data;
            Activation dx = device.activation(n, in, h, w);
            CompactConvolutionTest.fillImagesAndBorder(dx, 7f); // another layer's values, border included: all must be overwritten or zeroed
            conv.backwardInput(dy, dx, false);
            assertClose(expected, 1, device.readActivation(dx), "set " + tag);
            CpuKernelTest.assertPaddingZero(dx, "set " + tag);
            conv.backwardInput(dy, dx, true);
            assertClose(expected, 2, device.readActivation(dx), "accumulated " + tag);
            CpuKernelTest.assertPaddingZero(dx, "accumulated " + tag);
        }
    }

    private static void assertClose(double[] expected, double times, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double e = times * expected[i];
            assertEquals(e, actual[i], 1e-4 * Math.max(1, Math.abs(e)), what + " at " + i);
        }
    }

    private static float[] gaussian(Random rng, int size) {
        float[] v = new float[size];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }
}
