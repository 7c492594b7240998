package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.parallel.WorkerPool;
import mocoref.reference.Conv2d;
import mocoref.tensor.Tensor;
import mocoref.testing.ErrorLog;
import org.junit.jupiter.api.Test;

/**
 * The 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) ({@link Winograd}) against the float64
 * reference Conv2d at the twin tolerance {@code |a - b| <= 1e-5 + 1e-4 |ref|}: forward, data
 * gradient set and accumulated, the output's border zero also where its memory held other values;
 * odd and even, square and oblong planes (tiles reaching past the image), ragged channel tiles, one
 * task and many with a partial last one. And the bits do not depend on the thread count.
 */
class WinogradTest {
    static final double ATOL = 1e-5, RTOL = 1e-4;

    /** Which layers take the path: 64 channels and more with 256-bit vectors, 128 with 512 (CpuConv2d.WINOGRAD_FROM). */
    @Test
    void winogradFromFollowsTheVectorWidth() {
        assertEquals(64, CpuConv2d.winogradFrom(new ScalarKernels(5, 16)));
        assertEquals(128, CpuConv2d.winogradFrom(new ScalarKernels(8, 32)));
        assertEquals(Kernels.INSTANCE.nr() == 16 ? 64 : 128, new CpuDevice(1).winogradFrom());
    }

    @Test
    void winogradMatchesTheReferenceConvolution() {
        Random rng = new Random(21);
        // in, out, n, h, w
        int[][] cases = {{3, 5, 2, 7, 9}, {9, 17, 3, 5, 5}, {20, 13, 2, 4, 4}, {16, 16, 1, 1, 1}, {8, 40, 3, 6, 3},
                {64, 64, 4, 7, 7}, {33, 70, 5, 14, 14}, {70, 33, 2, 28, 28}, {128, 96, 17, 4, 4}};
        for (int[] s : cases) check(rng, s);
    }

    private static void check(Random rng, int[] s) {
        String tag = Arrays.toString(s);
        int in = s[0], out = s[1], n = s[2], h = s[3], w = s[4];
        Conv2d ref = new Conv2d(in, out, 3, 1, 1);
        // weights of a trained network's scale (He's initialization: std sqrt(2 / (9 in))), so that
        // outputs are of order one, as in a model, where N(0, 1) weights would make them of order
        // sqrt(9 in) and float32's rounding (of any path) exceed the tolerance's absolute part
        double std = Math.sqrt(2.0 / (9 * in));
        for (int i = 0; i < ref.weight.value.numel(); i++) ref.weight.value.data[i] = (float) (std * rng.nextGaussian());
        Tensor x = random(rng, n, in, h, w), dy = random(rng, n, out, h, w);
        Tensor y = ref.forward(x);
        Tensor dx = ref.backward(dy);
        float[][] results = null;
        for (int threads : new int[] {2, 1}) {
            WorkerPool pool = WorkerPool.shared(threads);
            CpuDevice device = new CpuDevice(Kernels.INSTANCE, pool);
            int wn = ref.weight.value.numel();
            Buffer weights = device.buffer(wn), grad = device.buffer(wn);
            device.write(floats(ref.weight.value.data), 0, weights, 0, wn);
            Device.ConvShape shape = new Device.ConvShape(in, out, 3, 1, 1, n, h, w);
            Plane plane = device.plane(n, h, w);
            CpuConv2d conv = new CpuConv2d(shape, new ParamRef(weights, grad, 0, wn), plane, plane, Kernels.INSTANCE, pool, device,
                    CpuConv2d.COMPACT_MARGIN, CpuConv2d.PHASE_BORDER, 1);
            assertTrue(conv.byWinograd(), tag);
            Activation xa = device.activation(n, in, h, w), dya = device.activation(n, out, h, w);
            device.writeImages(floats(x.data), 0, xa);
            device.writeImages(floats(dy.data), 0, dya);
            Activation ya = device.activation(n, out, h, w), dxa = device.activation(n, in, h, w);
            CompactConvolutionTest.fillImagesAndBorder(ya, 7f);
            CompactConvolutionTest.fillImagesAndBorder(dxa, 7f);
            conv.forward(xa, ya);
            check("forward " + tag, y.data, device.readActivation(ya));
            CpuKernelTest.assertPaddingZero(ya, "forward " + tag);
            conv.backwardInput(dya, dxa, false);
            check("data gradient " + tag, dx.data, device.readActivation(dxa));
            CpuKernelTest.assertPaddingZero(dxa, "data gradient " + tag);
            float[] set = device.readActivation(dxa);
            conv.backwardInput(dya, dxa, true);
            double[] twice = dx.data.clone();
            for (int i = 0; i < twice.length; i++) twice[i] *= 2;
            check("data gradient accumulated " + tag, twice, device.readActivation(dxa));
            CpuKernelTest.assertPaddingZero(dxa, "data gradient accumulated " + tag);
            float[][] now = {CpuDevice.data(ya).clone(), set};
            if (results != null) {
                assertArrayEquals(results[0], now[0], 0f, "forward, 1 thread against 2 " + tag);
                assertArrayEquals(results[1], now[1], 0f, "data gradient, 1 thread against 2 " + tag);
            }
            results = now;
        }
    }

    private static void check(String what, double[] ref, float[] actual) {
        double worst = 0;
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs(actual[i] - ref[i]);
            if (!(err <= ATOL + RTOL * Math.abs(ref[i]))) {
                throw new AssertionError(what + ": at " + i + " " + actual[i] + " vs reference " + ref[i]);
            }
            worst = Math.max(worst, err / (ATOL + RTOL * Math.abs(ref[i])));
        }
        ErrorLog.record("winograd", what, worst);
    }

    private static Tensor random(Random rng, int... shape) {
        Tensor t = new Tensor(shape);
        for (int i = 0; i < t.numel(); i++) t.data[i] = (float) rng.nextGaussian();
        return t;
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
