package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.Random;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

/**
 * The compact path of the direct convolutions (the images' positions gathered per tile, on small
 * planes, in tap classes that run only the taps reading the image) gives the same bits as the
 * in-place one: forward, data gradient set and accumulated,
 * with the output's border zero also when its memory held other values. The weight gradient is
 * the same code either way and is not compared.
 */
class CompactConvolutionTest {
    @Test
    void compactPathGivesTheInPlaceBits() {
        WorkerPool pool = WorkerPool.shared(2);
        CpuDevice device = new CpuDevice(Kernels.INSTANCE, pool);
        Random rng = new Random(11);
        // in, out, kernel, padding, n, h, w: ragged channel tiles, odd and non-square planes, a 1x1, one image
        int[][] cases = {{20, 13, 3, 1, 3, 4, 4}, {9, 17, 3, 1, 2, 7, 5}, {33, 8, 1, 0, 3, 3, 6}, {16, 16, 3, 1, 1, 1, 1},
                {40, 24, 3, 1, 5, 2, 3}, {40, 36, 3, 1, 2, 6, 5}}; // the last two: 360 taps each way, in parts (the last with interior tiles)
        for (int[] s : cases) {
            String tag = Arrays.toString(s);
            Device.ConvShape shape = new Device.ConvShape(s[0], s[1], s[2], 1, s[3], s[4], s[5], s[6]);
            int wn = s[0] * s[1] * s[2] * s[2];
            Buffer weights = device.buffer(wn), grad = device.buffer(wn);
            float[] w = new float[wn];
            for (int i = 0; i < wn; i++) w[i] = (float) rng.nextGaussian();
            device.write(w, 0, weights, 0, wn);
            ParamRef param = new ParamRef(weights, grad, 0, wn);
            Plane plane = device.plane(s[4], s[5], s[6]);
            CpuConv2d compact = new CpuConv2d(shape, param, plane, plane, Kernels.INSTANCE, pool, device, 0);
            CpuConv2d inPlace = new CpuConv2d(shape, param, plane, plane, Kernels.INSTANCE, pool, device, Double.POSITIVE_INFINITY);
            Activation x = images(device, rng, s[4], s[0], s[5], s[6]), dy = images(device, rng, s[4], s[1], s[5], s[6]);
            Activation[] y = {device.activation(s[4], s[1], s[5], s[6]), device.activation(s[4], s[1], s[5], s[6])};
            Activation[] dx = {device.activation(s[4], s[0], s[5], s[6]), device.activation(s[4], s[0], s[5], s[6])};
            CpuConv2d[] convs = {compact, inPlace};
            for (int i = 0; i < 2; i++) {
                fillImagesAndBorder(y[i], 7f); // the border too: the compact path must zero what it does not compute
                fillImagesAndBorder(dx[i], 7f);
                convs[i].forward(x, y[i]);
            }
            assertArrayEquals(CpuDevice.data(y[1]), CpuDevice.data(y[0]), 0f, "forward " + tag); // delta 0: in place, the border holds -0.0 where the product was negative
            CpuKernelTest.assertPaddingZero(y[0], "compact forward " + tag);
            for (boolean accumulate : new boolean[] {false, true}) {
                for (int i = 0; i < 2; i++) convs[i].backwardInput(dy, dx[i], accumulate);
                assertArrayEquals(CpuDevice.data(dx[1]), CpuDevice.data(dx[0]), 0f, "data gradient " + tag + (accumulate ? " accumulated" : ""));
                CpuKernelTest.assertPaddingZero(dx[0], "compact data gradient " + tag);
            }
        }
    }

    /**
     * The strided 3x3 and 1x1 forwards at the output's image positions only give the bits of the
     * ones over the whole span, with the output's border zero: ragged channel tiles, odd sizes,
     * several tasks and a partial last one (5 x 14 x 14 outputs). The weight gradient is the same
     * code either way.
     */
    @Test
    void stridedForwardAtImagePositionsGivesTheSpanBits() {
        Random rng = new Random(12);
        // in, out, n, h, w (3x3, stride 2, padding 1)
        // tiles in groups of nr images: 5 images (a partial group), 2 or 3 (less than a group)
        // with a sixth number: the kernel (1: the 1x1 downsample, padding 0; it has more outputs than taps)
        int[][] cases = {{20, 13, 3, 9, 7}, {16, 40, 2, 8, 8}, {9, 17, 3, 5, 5}, {16, 24, 5, 28, 28}, {3, 5, 1, 2, 3}, {40, 24, 2, 7, 7},
                {16, 32, 3, 7, 7, 1}, {13, 26, 2, 9, 6, 1}, {24, 48, 5, 14, 14, 1}, {72, 16, 2, 7, 7}, {320, 12, 2, 5, 5, 1}}; // the last two: 648 and 320 taps, in parts
        for (int[] s : cases) {
            // compact (margin 0) against the whole span (infinity), neither by phases
            Activation[] y = stridedForwards(rng, s, new double[][] {{0, -1}, {Double.POSITIVE_INFINITY, -1}});
            String tag = Arrays.toString(s);
            assertArrayEquals(CpuDevice.data(y[1]), CpuDevice.data(y[0]), 0f, "strided forward " + tag);
            CpuKernelTest.assertPaddingZero(y[0], "compact strided forward " + tag);
        }
    }

    /**
     * The strided 3x3 and 1x1 data gradients by residues at dY's image positions only give the bits
     * of the residues over dY's whole span, set and accumulated, with dx's border zero when its memory
     * held other values: odd sizes (the odd residues' last output row or column reaches no input),
     * even sizes, ragged channel tiles, groups of nr images with a partial last one, a single image.
     */
    @Test
    void stridedDataGradientAtImagePositionsGivesTheSpanBits() {
        Random rng = new Random(14);
        WorkerPool pool = WorkerPool.shared(2);
        CpuDevice device = new CpuDevice(Kernels.INSTANCE, pool);
        int groups = Kernels.INSTANCE.nr() + 3; // more than one group of nr images, the last partial
        // in, out, n, h, w (3x3, stride 2, padding 1)
        // with a sixth number: the kernel (1: the 1x1 downsample, padding 0, whose residue reaches a quarter of the input)
        int[][] cases = {{20, 13, 3, 7, 7}, {16, 40, 2, 8, 8}, {9, 17, groups, 5, 5}, {13, 24, 5, 14, 9}, {3, 5, 1, 2, 3}, {40, 24, 2, 7, 7},
                {16, 32, 3, 7, 7, 1}, {13, 26, groups, 6, 9, 1}, {24, 48, 2, 14, 14, 1},
                {12, 80, 3, 7, 7}, {8, 300, 2, 5, 5, 1}}; // the last two: residue products over 288 taps, in parts
        for (int[] s : cases) {
            String tag = Arrays.toString(s);
            int kernel = s.length > 5 ? s[5] : 3;
            Device.ConvShape shape = new Device.ConvShape(s[0], s[1], kernel, 2, kernel / 2, s[2], s[3], s[4]);
            ParamRef param = stridedWeights(device, rng, s);
            Plane from = device.plane(s[2], s[3], s[4]), to = device.plane(s[2], shape.outH(), shape.outW());
            Activation dy = images(device, rng, s[2], s[1], shape.outH(), shape.outW());
            CpuConv2d[] convs = {new CpuConv2d(shape, param, from, to, Kernels.INSTANCE, pool, device, 0),
                    new CpuConv2d(shape, param, from, to, Kernels.INSTANCE, pool, device, Double.POSITIVE_INFINITY)};
            Activation[] dx = {device.activation(s[2], s[0], s[3], s[4]), device.activation(s[2], s[0], s[3], s[4])};
            for (int i = 0; i < 2; i++) fillImagesAndBorder(dx[i], 7f);
            for (boolean accumulate : new boolean[] {false, true}) {
                for (int i = 0; i < 2; i++) convs[i].backwardInput(CpuDevice.data(dy), CpuDevice.data(dx[i]), accumulate);
                assertArrayEquals(CpuDevice.data(dx[1]), CpuDevice.data(dx[0]), 0f, "strided data gradient " + tag + (accumulate ? " accumulated" : ""));
                CpuKernelTest.assertPaddingZero(dx[0], "compact strided data gradient " + tag);
            }
        }
    }

    /**
     * The stride-2 3x3 forward by phase planes gives the bits of the gathered one over the whole
     * span, with the output's border zero: odd and even sizes (an odd input's last phase row reads
     * the input's border), ragged channel tiles, several tasks.
     */
    @Test
    void phaseForwardGivesTheSpanBits() {
        Random rng = new Random(13);
        // in, out, n, h, w (3x3, stride 2, padding 1)
        int[][] cases = {{20, 13, 3, 9, 7}, {16, 40, 2, 8, 8}, {9, 17, 3, 5, 5}, {16, 24, 5, 28, 28}, {3, 5, 1, 2, 3},
                {32, 16, 3, 14, 14}, {17, 9, 2, 7, 7}, {8, 33, 4, 6, 9}, {40, 12, 2, 12, 12}, {72, 9, 1, 9, 8}}; // the last two: 360 and 648 taps, in parts
        for (int[] s : cases) {
            // by phases (border limit 1: always) against the whole span
            Activation[] y = stridedForwards(rng, s, new double[][] {{Double.POSITIVE_INFINITY, 1}, {Double.POSITIVE_INFINITY, -1}});
            String tag = Arrays.toString(s);
            assertArrayEquals(CpuDevice.data(y[1]), CpuDevice.data(y[0]), 0f, "phase forward " + tag);
            CpuKernelTest.assertPaddingZero(y[0], "phase forward " + tag);
        }
    }

    /**
     * The forward of a stride-2 convolution of shape {in, out, n, h, w[, kernel: 3]} by each {compact margin,
     * phase border limit}, on one set of weights and one input, each into an output whose images and
     * border held 7 before.
     */
    private static Activation[] stridedForwards(Random rng, int[] s, double[][] ways) {
        WorkerPool pool = WorkerPool.shared(2);
        CpuDevice device = new CpuDevice(Kernels.INSTANCE, pool);
        int kernel = s.length > 5 ? s[5] : 3;
        Device.ConvShape shape = new Device.ConvShape(s[0], s[1], kernel, 2, kernel / 2, s[2], s[3], s[4]);
        ParamRef param = stridedWeights(device, rng, s);
        Plane from = device.plane(s[2], s[3], s[4]), to = device.plane(s[2], shape.outH(), shape.outW());
        Activation x = images(device, rng, s[2], s[0], s[3], s[4]);
        Activation[] y = new Activation[ways.length];
        for (int i = 0; i < ways.length; i++) {
            CpuConv2d conv = new CpuConv2d(shape, param, from, to, Kernels.INSTANCE, pool, device, ways[i][0], ways[i][1]);
            y[i] = device.activation(s[2], s[1], shape.outH(), shape.outW());
            fillImagesAndBorder(y[i], 7f); // the border too: a path that skips it must zero it
            conv.forward(x, y[i]);
        }
        return y;
    }

    /** Gaussian weights (and a gradient buffer) of a convolution of shape {in, out, n, h, w[, kernel: 3]}. */
    private static ParamRef stridedWeights(CpuDevice device, Random rng, int[] s) {
        int kernel = s.length > 5 ? s[5] : 3, wn = s[0] * s[1] * kernel * kernel;
        Buffer weights = device.buffer(wn), grad = device.buffer(wn);
        float[] w = new float[wn];
        for (int i = 0; i < wn; i++) w[i] = (float) rng.nextGaussian();
        device.write(w, 0, weights, 0, wn);
        return new ParamRef(weights, grad, 0, wn);
    }

    /** Every position of the images' strides (the images and their border column and row), as another layer's values would. */
    static void fillImagesAndBorder(Activation a, float v) {
        CpuDevice.CpuActivation c = (CpuDevice.CpuActivation) a;
        Plane p = c.plane;
        for (int ch = 0; ch < c.channels; ch++) {
            int from = ch * p.rowLength() + p.lead();
            Arrays.fill(CpuDevice.data(a), from, from + p.n() * p.imageStride(), v);
        }
    }

    private static Activation images(CpuDevice device, Random rng, int n, int c, int h, int w) {
        float[] v = new float[n * c * h * w];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        Activation a = device.activation(n, c, h, w);
        device.writeImages(v, 0, a);
        return a;
    }
}
