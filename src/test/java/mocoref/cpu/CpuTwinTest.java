package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.reference.BatchNorm2d;
import mocoref.reference.Conv2d;
import mocoref.reference.GlobalAvgPool;
import mocoref.reference.L2Normalize;
import mocoref.reference.Linear;
import mocoref.reference.MaxPool2d;
import mocoref.reference.ReferenceMoCo;
import mocoref.reference.Relu;
import mocoref.reference.ResidualAdd;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Every cpu operation against its float64 twin in mocoref.reference (and the Vector API kernels
 * against the scalar ones), on random shapes that include sizes no vector length or tile divides.
 * Elementwise tolerance {@code |a - b| <= 1e-5 + 1e-4 |ref|}: float32 rounding of sums of at most a
 * few thousand terms of order one stays well inside it. The pairs compared are counted, so that a
 * twin silently dropped fails the class.
 */
class CpuTwinTest {
    static final double ATOL = 1e-5, RTOL = 1e-4;
    static final Set<String> PAIRS = new TreeSet<>();
    static final int EXPECTED_PAIRS = 45;

    final Kernels kernels = Kernels.INSTANCE;
    final WorkerPool pool = WorkerPool.shared(2);
    final Random rng = new Random(42);

    @AfterAll
    static void everyTwinWasCompared() {
        assertEquals(EXPECTED_PAIRS, PAIRS.size(), "twin pairs: " + PAIRS);
    }

    static void twin(String name, double[] ref, float[] actual) {
        assertEquals(ref.length, actual.length, name + ": lengths");
        for (int i = 0; i < ref.length; i++) {
            double err = Math.abs(actual[i] - ref[i]);
            if (!(err <= ATOL + RTOL * Math.abs(ref[i]))) {
                throw new AssertionError(name + ": at " + i + " cpu " + actual[i] + " vs reference " + ref[i]);
            }
        }
        PAIRS.add(name.replaceAll(" \\[.*", ""));
    }

    Tensor random(int... shape) {
        Tensor t = new Tensor(shape);
        for (int i = 0; i < t.numel(); i++) t.data[i] = rng.nextGaussian();
        return t;
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static double[] slice(float[] a, int off, int len) {
        double[] d = new double[len];
        for (int i = 0; i < len; i++) d[i] = a[off + i];
        return d;
    }

    static float[] sliceF(float[] a, int off, int len) {
        return java.util.Arrays.copyOfRange(a, off, off + len);
    }

    // ---- GEMM --------------------------------------------------------------------------------

    @Test
    void gemmVariants() {
        Gemm gemm = new Gemm(kernels, pool);
        int[][] shapes = {{1, 1, 1}, {7, 33, 5}, {9, 17, 64}, {16, 100, 3}, {31, 47, 129}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            double[] a = random(m, k).data, b = random(k, n).data;
            // plain, A transposed, B transposed: all as strides
            double[] ref = new double[m * n];
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int t = 0; t < k; t++) sum += a[i * k + t] * b[t * n + j];
                ref[i * n + j] = 0.5 * sum;
            }
            float[] af = toFloats(a), bf = toFloats(b), c = new float[m * n];
            gemm.multiply(m, n, k, 0.5f, af, 0, k, 1, bf, 0, n, 1, c, 0, n, false);
            twin("gemm NN " + java.util.Arrays.toString(s), ref, c);
            float[] at = new float[k * m], bt = new float[n * k];
            for (int i = 0; i < m; i++) for (int t = 0; t < k; t++) at[t * m + i] = af[i * k + t];
            for (int t = 0; t < k; t++) for (int j = 0; j < n; j++) bt[j * k + t] = bf[t * n + j];
            float[] c2 = new float[m * n];
            gemm.multiply(m, n, k, 0.5f, at, 0, 1, m, bt, 0, 1, k, c2, 0, n, false);
            twin("gemm TT " + java.util.Arrays.toString(s), ref, c2);
            gemm.multiply(m, n, k, 0.5f, af, 0, k, 1, bt, 0, 1, k, c2, 0, n, true); // accumulate: 2x
            double[] twice = ref.clone();
            for (int i = 0; i < twice.length; i++) twice[i] *= 2;
            twin("gemm NT accumulate " + java.util.Arrays.toString(s), twice, c2);
        }
    }

    // ---- convolution ---------------------------------------------------------------------------

    @Test
    void convolutions() {
        // in, out, kernel, stride, padding, n, h, w: direct 3x3 and 1x1, im2col strided and 7x7
        int[][] cases = {{3, 5, 3, 1, 1, 2, 7, 9}, {9, 17, 3, 1, 1, 3, 5, 5}, {5, 3, 1, 1, 0, 2, 6, 3},
                {4, 6, 3, 2, 1, 2, 9, 7}, {6, 10, 1, 2, 0, 3, 5, 8}, {3, 4, 7, 2, 3, 2, 11, 10}, {1, 8, 3, 1, 1, 4, 4, 4},
                // channels a multiple of 16: the weight gradient on the tile (WeightGradient), direct and strided,
                // odd and even sizes, several blocks and chunks of positions (few enough positions for float32 sums
                // to meet the tolerance: 8 images of 14x14 fail it on the old dot-product kernel too)
                {16, 8, 3, 1, 1, 2, 7, 9}, {16, 13, 3, 2, 1, 2, 9, 7}, {32, 10, 1, 2, 0, 3, 5, 8}, {16, 20, 3, 2, 1, 3, 8, 8},
                {16, 7, 3, 2, 1, 1, 7, 7}, {16, 6, 3, 1, 1, 3, 12, 12}, {128, 6, 1, 1, 0, 2, 10, 10}, {32, 7, 3, 2, 1, 4, 14, 14}, {32, 9, 1, 1, 0, 3, 6, 6}};
        for (int[] s : cases) {
            String tag = " " + java.util.Arrays.toString(s);
            int in = s[0], out = s[1], k = s[2], stride = s[3], pad = s[4], n = s[5], h = s[6], w = s[7];
            Conv2d ref = new Conv2d(in, out, k, stride, pad);
            System.arraycopy(random(out, in, k, k).data, 0, ref.weight.value.data, 0, ref.weight.value.numel());
            Params params = new Params();
            Plane src = Plane.of(n, h, w, kernels.nr());
            CpuConv2d conv = new CpuConv2d("conv", params, in, out, k, stride, pad, src, kernels, pool, new Workspace(), true);
            params.allocate(true);
            System.arraycopy(toFloats(ref.weight.value.data), 0, params.value, 0, params.total());
            Tensor x = random(n, in, h, w);
            float[] xf = new float[src.size(in)], yf = new float[conv.dst.size(out)];
            src.load(x.data, in, null, xf);
            Tensor y = ref.forward(x);
            conv.forward(xf, yf);
            twin((conv.direct ? "conv forward direct" : "conv forward im2col") + tag, y.data, conv.dst.unload(yf, out));
            assertPaddingZero(conv.dst, yf, out, "conv forward" + tag);
            Tensor dy = random(y.shape);
            float[] dyf = new float[yf.length], dxf = new float[xf.length];
            conv.dst.load(dy.data, out, null, dyf);
            Tensor dx = ref.backward(dy);
            conv.backward(dyf, xf, dxf, false);
            String path = conv.direct ? " direct" : " im2col";
            twin("conv backward data" + path + tag, dx.data, src.unload(dxf, in));
            twin("conv backward weight" + path + tag, ref.weight.grad.data, params.grad);
            assertPaddingZero(src, dxf, in, "conv backward" + tag);
        }
    }

    static void assertPaddingZero(Plane p, float[] act, int channels, String what) {
        float[] inside = new float[act.length];
        for (int c = 0; c < channels; c++) {
            for (int b = 0; b < p.n(); b++) {
                for (int i = 0; i < p.h(); i++) {
                    for (int j = 0; j < p.w(); j++) inside[p.at(c, b, i, j)] = 1;
                }
            }
        }
        for (int i = 0; i < act.length; i++) {
            if (inside[i] == 0 && act[i] != 0) throw new AssertionError(what + ": padding at " + i + " holds " + act[i]);
        }
    }

    // ---- BatchNorm, ReLU, residual -------------------------------------------------------------

    @Test
    void batchNormTrainWithGroups() {
        // n, c, h, w, groups, mean of x (40 with std 2: one-pass statistics must not cancel)
        int[][] cases = {{4, 3, 5, 7, 2, 3}, {6, 5, 3, 3, 3, 3}, {2, 17, 4, 4, 1, 3}, {16, 3, 14, 14, 2, 40}};
        for (int[] s : cases) {
            String tag = " " + java.util.Arrays.toString(s);
            int n = s[0], ch = s[1], h = s[2], w = s[3], groups = s[4];
            BatchNorm2d ref = new BatchNorm2d(ch);
            for (int c = 0; c < ch; c++) {
                ref.weight.value.data[c] = 1 + 0.3 * rng.nextGaussian();
                ref.bias.value.data[c] = 0.3 * rng.nextGaussian();
                ref.runningMean.data[c] = 0.1 * rng.nextGaussian();
            }
            Params params = new Params();
            Plane p = Plane.of(n, h, w, kernels.nr());
            CpuBatchNorm2d bn = new CpuBatchNorm2d("bn", params, ch, p, groups, kernels, pool);
            params.allocate(true);
            for (int c = 0; c < ch; c++) {
                params.value[bn.weightOffset + c] = (float) ref.weight.value.data[c];
                params.value[bn.biasOffset + c] = (float) ref.bias.value.data[c];
                bn.runningMean[c] = (float) ref.runningMean.data[c];
            }
            Tensor x = random(n, ch, h, w), res = random(n, ch, h, w);
            for (int i = 0; i < x.numel(); i++) x.data[i] = s[5] + 2 * x.data[i]; // a mean away from zero
            Relu relu = new Relu();
            ResidualAdd add = new ResidualAdd();
            Tensor y = relu.forward(add.forward(ref.forward(x, groups), res));
            float[] xf = new float[p.size(ch)], rf = new float[xf.length], yf = new float[xf.length];
            p.load(x.data, ch, null, xf);
            p.load(res.data, ch, null, rf);
            bn.forward(xf, rf, true, yf, groups);
            twin("bn+residual+relu forward" + tag, y.data, p.unload(yf, ch));
            assertPaddingZero(p, yf, ch, "bn forward" + tag);
            twin("bn running mean" + tag, ref.runningMean.data, bn.runningMean);
            twin("bn running var" + tag, ref.runningVar.data, bn.runningVar);
            assertEquals(ref.numBatchesTracked, bn.numBatchesTracked);
            Tensor dy = random(y.shape);
            Tensor dz = relu.backward(dy);
            Tensor dx = ref.backward(add.backward(dz));
            float[] dyf = new float[xf.length], dzf = new float[xf.length], dxf = new float[xf.length];
            p.load(dy.data, ch, null, dyf);
            bn.backward(dyf, yf, xf, dzf, dxf);
            twin("relu backward (the residual's gradient)" + tag, dz.data, p.unload(dzf, ch));
            twin("bn backward data" + tag, dx.data, p.unload(dxf, ch));
            twin("bn backward gamma" + tag, ref.weight.grad.data, sliceF(params.grad, bn.weightOffset, ch));
            twin("bn backward beta" + tag, ref.bias.grad.data, sliceF(params.grad, bn.biasOffset, ch));
            assertPaddingZero(p, dxf, ch, "bn backward" + tag);
            // eval mode, with the running statistics just updated
            Tensor ye = ref.forwardEval(x);
            float[] yef = new float[xf.length];
            bn.forwardEval(xf, null, false, yef);
            twin("bn forward eval" + tag, ye.data, p.unload(yef, ch));
        }
    }

    // ---- pooling -------------------------------------------------------------------------------

    @Test
    void pooling() {
        int[][] cases = {{3, 5, 7, 9}, {2, 17, 4, 4}, {5, 3, 1, 1}};
        for (int[] s : cases) {
            String tag = " " + java.util.Arrays.toString(s);
            int n = s[0], ch = s[1], h = s[2], w = s[3];
            Plane p = Plane.of(n, h, w, kernels.nr());
            Tensor x = random(n, ch, h, w);
            float[] xf = new float[p.size(ch)];
            p.load(x.data, ch, null, xf);
            GlobalAvgPool ref = new GlobalAvgPool();
            Pooling.GlobalAvg avg = new Pooling.GlobalAvg(ch, p, kernels, pool);
            float[] yf = new float[n * ch];
            Tensor y = ref.forward(x);
            avg.forward(xf, yf);
            twin("global avg pool forward" + tag, y.data, yf);
            Tensor dy = random(n, ch);
            float[] dxf = new float[xf.length];
            avg.backward(toFloats(dy.data), dxf);
            twin("global avg pool backward" + tag, ref.backward(dy).data, p.unload(dxf, ch));
            if (h < 3) continue;
            MaxPool2d refMax = new MaxPool2d(3, 2, 1);
            Pooling.Max max = new Pooling.Max(ch, 3, 2, 1, p, kernels.nr(), pool);
            Tensor my = refMax.forward(x);
            float[] myf = new float[max.dst.size(ch)];
            max.forward(xf, myf);
            twin("max pool forward" + tag, my.data, max.dst.unload(myf, ch));
            Tensor mdy = random(my.shape);
            float[] mdyf = new float[myf.length], mdxf = new float[xf.length];
            max.dst.load(mdy.data, ch, null, mdyf);
            max.backward(mdyf, mdxf);
            twin("max pool backward" + tag, refMax.backward(mdy).data, p.unload(mdxf, ch));
        }
    }

    // ---- head ----------------------------------------------------------------------------------

    @Test
    void linearAndNormalize() {
        int[][] cases = {{5, 7, 3}, {33, 19, 40}, {1, 1, 1}}; // n, in, out
        for (int[] s : cases) {
            String tag = " " + java.util.Arrays.toString(s);
            int n = s[0], in = s[1], out = s[2];
            Linear ref = new Linear(in, out);
            System.arraycopy(random(out, in).data, 0, ref.weight.value.data, 0, out * in);
            System.arraycopy(random(out).data, 0, ref.bias.value.data, 0, out);
            Params params = new Params();
            CpuLinear lin = new CpuLinear("fc", params, in, out, new Gemm(kernels, pool));
            params.allocate(true);
            System.arraycopy(toFloats(ref.weight.value.data), 0, params.value, lin.weightOffset, out * in);
            System.arraycopy(toFloats(ref.bias.value.data), 0, params.value, lin.biasOffset, out);
            Tensor x = random(n, in);
            float[] xf = toFloats(x.data), yf = new float[n * out];
            lin.forward(xf, yf, n);
            twin("linear forward" + tag, ref.forward(x).data, yf);
            Tensor dy = random(n, out);
            float[] dxf = new float[n * in];
            lin.backward(toFloats(dy.data), xf, dxf, n);
            twin("linear backward data" + tag, ref.backward(dy).data, dxf);
            twin("linear backward weight" + tag, ref.weight.grad.data, sliceF(params.grad, lin.weightOffset, out * in));
            twin("linear backward bias" + tag, ref.bias.grad.data, sliceF(params.grad, lin.biasOffset, out));

            L2Normalize norm = new L2Normalize();
            Tensor h = random(n, out);
            float[] qf = new float[n * out], norms = new float[n];
            CpuMoCo.l2Normalize(toFloats(h.data), qf, norms, n, out);
            twin("normalize forward" + tag, norm.forward(h).data, qf);
            Tensor dq = random(n, out);
            float[] dhf = new float[n * out];
            CpuMoCo.l2NormalizeBackward(toFloats(dq.data), qf, norms, dhf, n, out);
            twin("normalize backward" + tag, norm.backward(dq).data, dhf);
        }
    }

    // ---- the step's own operations: logits, cross-entropy, momentum update, SGD, enqueue -------

    @Test
    void mocoStepOperations() {
        ResNetConfig net = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
        MocoConfig config = new MocoConfig(net, 24, 0.9, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.05, 0.9, 1e-3, 8, new int[] {1, 9, 11});
        Map<String, StoredTensor> init = CpuStepTiming.randomInit(config, 7);
        ReferenceMoCo ref = new ReferenceMoCo(config, init, "init");
        CpuMoCo cpu = new CpuMoCo(config, init, "init", 2);
        for (int step = 0; step < 2; step++) {
            StepInput in = CpuStepTiming.randomInput(config, rng);
            StepResult r = ref.step(in), c = cpu.step(in);
            twin("contrastive logits [step " + step + "]", r.logits().toDoubles(), c.logits().toFloats());
            twin("cross-entropy loss [step " + step + "]", new double[] {r.loss()}, new float[] {(float) c.loss()});
        }
        Map<String, StoredTensor> rs = ref.state(), cs = cpu.state();
        assertEquals(rs.keySet(), cs.keySet());
        twin("momentum update (encoder_k.conv1.weight)", rs.get("encoder_k.conv1.weight").toDoubles(), cs.get("encoder_k.conv1.weight").toFloats());
        twin("momentum update (encoder_k.fc.2.bias)", rs.get("encoder_k.fc.2.bias").toDoubles(), cs.get("encoder_k.fc.2.bias").toFloats());
        twin("sgd (encoder_q.layer1.0.conv2.weight)", rs.get("encoder_q.layer1.0.conv2.weight").toDoubles(), cs.get("encoder_q.layer1.0.conv2.weight").toFloats());
        String buf = "optimizer.encoder_q.layer3.0.bn1.weight.momentum_buffer";
        twin("sgd momentum buffer", rs.get(buf).toDoubles(), cs.get(buf).toFloats());
        twin("dequeue and enqueue (queue)", rs.get("queue").toDoubles(), cs.get("queue").toFloats());
        assertEquals(rs.get("queue_ptr"), cs.get("queue_ptr"));
        assertEquals(rs.get("encoder_q.bn1.num_batches_tracked"), cs.get("encoder_q.bn1.num_batches_tracked"));
    }

    // ---- Vector API kernels against the scalar ones ---------------------------------------------

    @Test
    void vectorKernelsMatchScalar() {
        Kernels vector = KernelChoice.vector();
        assertNotNull(vector, "the tests run with --add-modules jdk.incubator.vector (pom.xml's mocoref.jvm.flags)");
        Kernels scalar = new ScalarKernels(vector.mr(), vector.nr());
        int nr = vector.nr(), mr = vector.mr();
        for (int kLen : new int[] {1, 9, 37}) {
            for (int rows : new int[] {1, 5, mr}) {
                float[] a = toFloats(random(kLen * mr).data), b = toFloats(random(kLen * 3 + nr + 50).data);
                float[] mask = toFloats(random(nr + 3).data);
                int[] rowOff = new int[kLen];
                for (int t = 0; t < kLen; t++) rowOff[t] = 3 * t + 1;
                float[] cv = toFloats(random(rows * (nr + 5) + 10).data), cs = cv.clone();
                vector.tile(a, 0, kLen, b, rowOff, 7, cv, 2, nr + 5, rows, true, mask, 3, new float[mr * nr]);
                scalar.tile(a, 0, kLen, b, rowOff, 7, cs, 2, nr + 5, rows, true, mask, 3, new float[mr * nr]);
                twin("kernel tile [" + kLen + "x" + rows + "]", slice(cs, 0, cs.length), cv);
            }
        }
        for (int len : new int[] {1, 7, 8, 100, 1029}) {
            float[] x = toFloats(random(len + 20).data), y = toFloats(random(len + 20).data), m = toFloats(random(len + 20).data);
            float[] ov = new float[16], os = new float[16];
            vector.dot4x4(x, 0, 3, 5, 11, y, 1, 2, 9, 14, len, ov, 0);
            scalar.dot4x4(x, 0, 3, 5, 11, y, 1, 2, 9, 14, len, os, 0);
            twin("kernel dot4x4 [" + len + "]", slice(os, 0, 16), ov);
            twin("kernel sum [" + len + "]", new double[] {scalar.sum(x, 3, len)}, new float[] {(float) vector.sum(x, 3, len)});
            double[] shiftedScalar = new double[2], shiftedVector = new double[2];
            scalar.shiftedSums(x, 3, len, 0.3f, shiftedScalar);
            vector.shiftedSums(x, 3, len, 0.3f, shiftedVector);
            twin("kernel shiftedSums [" + len + "]", shiftedScalar, new float[] {(float) shiftedVector[0], (float) shiftedVector[1]});
            float[] yv = new float[len + 20], ys = new float[len + 20];
            vector.scaleShift(x, 2, y, 4, 1.5f, -0.2f, true, m, 1, yv, 3, len);
            scalar.scaleShift(x, 2, y, 4, 1.5f, -0.2f, true, m, 1, ys, 3, len);
            twin("kernel scaleShift [" + len + "]", slice(ys, 0, ys.length), yv);
            float[] dzv = new float[len + 20], dzs = new float[len + 20];
            double[] sv = new double[2], ss = new double[2];
            vector.reluGradSums(y, x, m, 2, len, 0.1f, dzv, sv);
            scalar.reluGradSums(y, x, m, 2, len, 0.1f, dzs, ss);
            twin("kernel reluGradSums [" + len + "]", new double[] {ss[0], ss[1]}, new float[] {(float) sv[0], (float) sv[1]});
            twin("kernel reluGrad dz [" + len + "]", slice(dzs, 0, dzs.length), dzv);
            vector.bnInputGrad(y, x, 2, len, 0.1f, 1.3f, -0.4f, 0.7f, m, 1, yv, 0);
            scalar.bnInputGrad(y, x, 2, len, 0.1f, 1.3f, -0.4f, 0.7f, m, 1, ys, 0);
            twin("kernel bnInputGrad [" + len + "]", slice(ys, 0, ys.length), yv);
            double ev = vector.expShifted(x, 1, len, 2f, yv, 0), es = scalar.expShifted(x, 1, len, 2f, ys, 0);
            twin("kernel expShifted [" + len + "]", slice(ys, 0, ys.length), yv);
            twin("kernel expShifted sum [" + len + "]", new double[] {es}, new float[] {(float) ev});
            twin("kernel max [" + len + "]", new double[] {scalar.max(x, 2, len)}, new float[] {vector.max(x, 2, len)});
        }
        assertTrue(vector.name().startsWith("vector"));
    }
}
