package mocoref.float32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.reference.BatchNorm2d;
import mocoref.reference.Conv2d;
import mocoref.reference.CrossEntropy;
import mocoref.reference.GlobalAvgPool;
import mocoref.reference.L2Normalize;
import mocoref.reference.Linear;
import mocoref.reference.MaxPool2d;
import mocoref.reference.Param;
import mocoref.reference.ReferenceMoCo;
import mocoref.reference.Relu;
import mocoref.reference.ResidualAdd;
import mocoref.reference.Sgd;
import mocoref.tensor.Tensor;
import mocoref.testing.ErrorLog;
import mocoref.testing.Registered;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

/**
 * Every operation of every registered float32 {@link Device} against its float64 twin in
 * {@code mocoref.reference}, through the {@link Device} interface only, on random shapes that
 * include sizes no vector length, tile or work-group divides. Elementwise tolerance
 * {@code |a - b| <= 1e-5 + 1e-4 |ref|}: float32 rounding of sums of at most a few thousand terms of
 * order one stays well inside it. Per device, the operations compared are counted, so that a twin
 * silently dropped fails.
 */
class DeviceTwinTest {
    static final double ATOL = 1e-5, RTOL = 1e-4;
    /** Operations (not cases) compared per device. */
    static final int EXPECTED_OPERATIONS = 41;

    @TestFactory
    Stream<DynamicNode> everyDeviceOperationMatchesItsReferenceTwin() {
        return Registered.float32(2).stream().map(backend -> {
            Twins t = new Twins(backend.name());
            List<DynamicNode> tests = List.of(
                    test("convolutions", backend, t, this::convolutions),
                    test("batchNorm", backend, t, this::batchNorm),
                    test("pooling", backend, t, this::pooling),
                    test("head", backend, t, this::head),
                    test("step operations", backend, t, this::stepOperations),
                    test("large convolutions", backend, t, this::largeConvolutions),
                    dynamicTest("every operation was compared", () ->
                            assertEquals(EXPECTED_OPERATIONS, t.operations.size(), backend.name() + ": " + t.operations)));
            return dynamicContainer(backend.name(), tests);
        });
    }

    interface Check {
        void run(Device d, Twins t);
    }

    static DynamicNode test(String name, Float32Backend backend, Twins t, Check check) {
        return dynamicTest(name, () -> {
            try (Device d = backend.newDevice()) {
                check.run(d, t);
            }
        });
    }

    /** Compares and counts for one device. */
    static final class Twins {
        final String device;
        final Set<String> operations = new TreeSet<>();
        final Random rng = new Random(42);

        Twins(String device) {
            this.device = device;
        }

        void check(String operation, String tag, double[] ref, float[] actual) {
            assertEquals(ref.length, actual.length, operation + tag + ": lengths");
            double worst = 0;
            for (int i = 0; i < ref.length; i++) {
                double err = Math.abs(actual[i] - ref[i]);
                if (!(err <= ATOL + RTOL * Math.abs(ref[i]))) {
                    throw new AssertionError(device + " " + operation + tag + ": at " + i + " " + actual[i] + " vs reference " + ref[i]);
                }
                worst = Math.max(worst, err / (ATOL + RTOL * Math.abs(ref[i])));
            }
            ErrorLog.record("twin " + device, operation + tag, worst);
            operations.add(operation);
        }

        Tensor random(int... shape) {
            Tensor x = new Tensor(shape);
            for (int i = 0; i < x.numel(); i++) x.data[i] = rng.nextGaussian();
            return x;
        }
    }

    static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** The float32 rounding of x, back in a double tensor: what the device sees. */
    static Tensor rounded(Tensor x) {
        Tensor r = new Tensor(x.shape);
        for (int i = 0; i < x.numel(); i++) r.data[i] = (float) x.data[i];
        return r;
    }

    static Activation activation(Device d, Tensor x) {
        Activation a = d.activation(x.size(0), x.size(1), x.size(2), x.size(3));
        d.writeImages(floats(x.data), 0, a);
        return a;
    }

    static Buffer buffer(Device d, double[] values) {
        Buffer b = d.buffer(values.length);
        d.write(floats(values), 0, b, 0, values.length);
        return b;
    }

    /** A batch-shaped buffer [rows, cols] holding {@code values}. */
    static Buffer rows(Device d, double[] values, int rows, int cols) {
        Buffer b = d.rows(rows, cols);
        d.write(floats(values), 0, b, 0, values.length);
        return b;
    }

    static float[] read(Device d, Buffer b, long offset, int n) {
        float[] out = new float[n];
        d.read(b, offset, out, 0, n);
        return out;
    }

    /** Parameters laid out one after the other in a value and a gradient buffer, as EncoderWeights lays them out. */
    static final class Params {
        final Buffer value, grad;
        long next;

        Params(Device d, int total) {
            value = d.buffer(total);
            grad = d.buffer(total);
        }

        ParamRef add(Device d, Param p) {
            int n = p.value.numel();
            d.write(floats(p.value.data), 0, value, next, n);
            ParamRef ref = new ParamRef(value, grad, next, n);
            next += n;
            return ref;
        }
    }

    // ---- convolution ---------------------------------------------------------------------------

    void convolutions(Device d, Twins t) {
        // in, out, kernel, stride, padding, n, h, w: 3x3 and 1x1 stride 1, strided, the 7x7 stem, 1 channel in;
        // channels that fill SIMD tiles (16, 32, 128) and that do not, odd and even image sizes
        int[][] cases = {{3, 5, 3, 1, 1, 2, 7, 9}, {9, 17, 3, 1, 1, 3, 5, 5}, {5, 3, 1, 1, 0, 2, 6, 3},
                {4, 6, 3, 2, 1, 2, 9, 7}, {6, 10, 1, 2, 0, 3, 5, 8}, {3, 4, 7, 2, 3, 2, 11, 10}, {1, 8, 3, 1, 1, 4, 4, 4},
                {16, 8, 3, 1, 1, 2, 7, 9}, {16, 13, 3, 2, 1, 2, 9, 7}, {32, 10, 1, 2, 0, 3, 5, 8}, {16, 20, 3, 2, 1, 3, 8, 8},
                {16, 7, 3, 2, 1, 1, 7, 7}, {16, 6, 3, 1, 1, 3, 12, 12}, {128, 6, 1, 1, 0, 2, 10, 10}, {32, 7, 3, 2, 1, 4, 14, 14},
                {32, 9, 1, 1, 0, 3, 6, 6}, {8, 90, 3, 1, 1, 2, 2, 2}, {90, 8, 3, 1, 1, 2, 2, 2}, {128, 150, 1, 1, 0, 2, 3, 3}}; // the last three: cpu's compact path (forward; data gradient; both)
        for (int[] s : cases) convolution(d, t, s);
    }

    /**
     * Larger convolutions, run after the other operations so that their random draws stay as they
     * were. 16 channels, stride 2, enough positions for several of cpu's weight-gradient chunks and
     * blocks (its paired taps on AVX-512); then two direct ones with many of cpu's tasks, each
     * reading a window of its input rows with the taps reaching into its neighbours', the last task
     * shorter than the others (16 channels: long tasks; 24: short ones). Last three whose reductions
     * cpu splits into parts.
     */
    void largeConvolutions(Device d, Twins t) {
        convolution(d, t, new int[] {16, 12, 3, 2, 1, 3, 28, 28});
        convolution(d, t, new int[] {16, 16, 3, 1, 1, 2, 20, 21});
        convolution(d, t, new int[] {24, 20, 3, 1, 1, 4, 14, 14});
        // more taps than cpu's PART_TAPS (288): forward and data gradient in place in parts, a 1x1 too
        convolution(d, t, new int[] {40, 36, 3, 1, 1, 2, 12, 12});
        convolution(d, t, new int[] {320, 8, 1, 1, 0, 2, 6, 6});
        convolution(d, t, new int[] {40, 12, 3, 2, 1, 2, 28, 28}); // strided: cpu's forward by phases, in parts
    }

    /** One convolution case: in, out, kernel, stride, padding, n, h, w. */
    void convolution(Device d, Twins t, int[] s) {
        String tag = " " + Arrays.toString(s);
        int in = s[0], out = s[1], k = s[2], stride = s[3], pad = s[4], n = s[5], h = s[6], w = s[7];
        Conv2d ref = new Conv2d(in, out, k, stride, pad);
        System.arraycopy(rounded(t.random(out, in, k, k)).data, 0, ref.weight.value.data, 0, ref.weight.value.numel());
        Params params = new Params(d, ref.weight.value.numel());
        Device.ConvShape shape = new Device.ConvShape(in, out, k, stride, pad, n, h, w);
        Device.Conv2d conv = d.conv2d(shape, params.add(d, ref.weight));
        Tensor x = rounded(t.random(n, in, h, w));
        Tensor y = ref.forward(x);
        Activation xa = activation(d, x), ya = d.activation(n, out, shape.outH(), shape.outW());
        conv.forward(xa, ya);
        t.check("conv forward", tag, y.data, d.readActivation(ya));
        Tensor dy = rounded(t.random(y.shape));
        Tensor dx = ref.backward(dy);
        Activation dya = activation(d, dy), dxa = d.activation(n, in, h, w);
        conv.backwardWeight(dya, xa);
        t.check("conv backward weight", tag, ref.weight.grad.data, read(d, params.grad, 0, ref.weight.grad.numel()));
        conv.backwardInput(dya, dxa, false);
        t.check("conv backward input", tag, dx.data, d.readActivation(dxa));
        conv.backwardInput(dya, dxa, true); // accumulate: 2 dx
        double[] twice = dx.data.clone();
        for (int i = 0; i < twice.length; i++) twice[i] *= 2;
        t.check("conv backward input accumulate", tag, twice, d.readActivation(dxa));
    }

    // ---- BatchNorm, ReLU, residual -------------------------------------------------------------

    void batchNorm(Device d, Twins t) {
        // n, c, h, w, groups, mean of x (40 with std 2: one-pass statistics must not cancel)
        int[][] cases = {{4, 3, 5, 7, 2, 3}, {6, 5, 3, 3, 3, 3}, {2, 17, 4, 4, 1, 3}, {16, 3, 14, 14, 2, 40}, {3, 33, 1, 1, 1, 0}};
        for (int[] s : cases) {
            String tag = " " + Arrays.toString(s);
            int n = s[0], ch = s[1], h = s[2], w = s[3], groups = s[4];
            BatchNorm2d ref = new BatchNorm2d(ch);
            for (int c = 0; c < ch; c++) {
                ref.weight.value.data[c] = (float) (1 + 0.3 * t.rng.nextGaussian());
                ref.bias.value.data[c] = (float) (0.3 * t.rng.nextGaussian());
                ref.runningMean.data[c] = (float) (0.1 * t.rng.nextGaussian());
            }
            Params params = new Params(d, 2 * ch);
            ParamRef gamma = params.add(d, ref.weight), beta = params.add(d, ref.bias);
            double[] stats = new double[2 * ch];
            System.arraycopy(ref.runningMean.data, 0, stats, 0, ch);
            System.arraycopy(ref.runningVar.data, 0, stats, ch, ch);
            Buffer running = buffer(d, stats);
            Device.BatchNorm2d bn = d.batchNorm2d(ch, n, h, w, groups, gamma, beta, running, 0, ch);
            Tensor x = t.random(n, ch, h, w), res = rounded(t.random(n, ch, h, w));
            for (int i = 0; i < x.numel(); i++) x.data[i] = (float) (s[5] + 2 * x.data[i]); // a mean away from zero
            Relu relu = new Relu();
            ResidualAdd add = new ResidualAdd();
            Tensor y = relu.forward(add.forward(ref.forward(x, groups), res));
            Activation xa = activation(d, x), ra = activation(d, res), ya = d.activation(n, ch, h, w);
            bn.forwardTrain(xa, ra, true, ya, groups);
            t.check("bn+residual+relu forward", tag, y.data, d.readActivation(ya));
            t.check("bn running statistics", tag + " mean", ref.runningMean.data, read(d, running, 0, ch));
            t.check("bn running statistics", tag + " var", ref.runningVar.data, read(d, running, ch, ch));
            Tensor dy = rounded(t.random(y.shape));
            Tensor dz = relu.backward(dy);
            Tensor dx = ref.backward(add.backward(dz));
            Activation dya = activation(d, dy), dza = d.activation(n, ch, h, w), dxa = d.activation(n, ch, h, w);
            bn.backward(dya, ya, xa, dza, dxa);
            t.check("bn backward dz (relu)", tag, dz.data, d.readActivation(dza));
            t.check("bn backward input", tag, dx.data, d.readActivation(dxa));
            t.check("bn backward gamma", tag, ref.weight.grad.data, read(d, params.grad, gamma.offset(), ch));
            t.check("bn backward beta", tag, ref.bias.grad.data, read(d, params.grad, beta.offset(), ch));
            // without the ReLU and the residual, in place (dz = dy, dx = dz), as the shortcut's BatchNorm runs
            Tensor y2 = ref.forward(x, groups);
            Activation y2a = d.activation(n, ch, h, w);
            bn.forwardTrain(xa, null, false, y2a, groups);
            t.check("bn forward", tag, y2.data, d.readActivation(y2a));
            Tensor dx2 = ref.backward(dy);
            Activation g = activation(d, dy);
            bn.backward(g, null, xa, g, g);
            t.check("bn backward in place", tag, dx2.data, d.readActivation(g));
            // eval mode, with the running statistics just updated, in place
            Tensor ye = relu.forward(add.forward(ref.forwardEval(x), res));
            bn.forwardEval(xa, ra, true, xa);
            t.check("bn eval forward", tag, ye.data, d.readActivation(xa));
            // the residual gradient's sum
            Tensor a = rounded(t.random(n, ch, h, w)), b = rounded(t.random(n, ch, h, w));
            Activation ba = activation(d, b);
            d.add(activation(d, a), ba);
            t.check("add", tag, add.forward(b, a).data, d.readActivation(ba));
        }
        Buffer filled = d.buffer(11);
        d.fill(filled, 3, 5, 2.5f);
        t.check("fill", "", new double[] {0, 0, 0, 2.5, 2.5, 2.5, 2.5, 2.5, 0, 0, 0}, read(d, filled, 0, 11));
    }

    // ---- pooling -------------------------------------------------------------------------------

    void pooling(Device d, Twins t) {
        int[][] cases = {{3, 5, 7, 9}, {2, 17, 4, 4}, {5, 3, 1, 1}, {2, 3, 14, 14}};
        for (int[] s : cases) {
            String tag = " " + Arrays.toString(s);
            int n = s[0], ch = s[1], h = s[2], w = s[3];
            Tensor x = rounded(t.random(n, ch, h, w));
            Activation xa = activation(d, x);
            GlobalAvgPool ref = new GlobalAvgPool();
            Device.GlobalAvgPool avg = d.globalAvgPool(ch, n, h, w);
            Buffer y = d.rows(n, ch);
            avg.forward(xa, y);
            t.check("global avg pool forward", tag, ref.forward(x).data, read(d, y, 0, n * ch));
            Tensor dy = rounded(t.random(n, ch));
            Activation dxa = d.activation(n, ch, h, w);
            avg.backward(rows(d, dy.data, n, ch), dxa);
            t.check("global avg pool backward", tag, ref.backward(dy).data, d.readActivation(dxa));
            if (h < 3) continue;
            MaxPool2d refMax = new MaxPool2d(3, 2, 1);
            Device.MaxPool2d max = d.maxPool2d(ch, n, h, w, 3, 2, 1);
            Tensor my = refMax.forward(x);
            assertEquals(my.size(2), max.outH());
            assertEquals(my.size(3), max.outW());
            Activation mya = d.activation(n, ch, max.outH(), max.outW());
            max.forward(xa, mya);
            t.check("max pool forward", tag, my.data, d.readActivation(mya));
            Tensor mdy = rounded(t.random(my.shape));
            Activation mdxa = d.activation(n, ch, h, w);
            max.backward(activation(d, mdy), mdxa);
            t.check("max pool backward", tag, refMax.backward(mdy).data, d.readActivation(mdxa));
        }
        // a tie: every window's maximum appears twice; the first in row-major order wins, as in PyTorch
        Tensor flat = new Tensor(1, 1, 4, 4);
        Arrays.fill(flat.data, 1.0);
        MaxPool2d refMax = new MaxPool2d(3, 2, 1);
        Device.MaxPool2d max = d.maxPool2d(1, 1, 4, 4, 3, 2, 1);
        Activation ya = d.activation(1, 1, max.outH(), max.outW()), dxa = d.activation(1, 1, 4, 4);
        Tensor my = refMax.forward(flat);
        max.forward(activation(d, flat), ya);
        Tensor dy = t.random(my.shape);
        max.backward(activation(d, rounded(dy)), dxa);
        t.check("max pool backward", " ties", refMax.backward(rounded(dy)).data, d.readActivation(dxa));
    }

    // ---- head ----------------------------------------------------------------------------------

    void head(Device d, Twins t) {
        int[][] cases = {{5, 7, 3}, {33, 19, 40}, {1, 1, 1}, {256, 64, 129}}; // n, in, out
        for (int[] s : cases) {
            String tag = " " + Arrays.toString(s);
            int n = s[0], in = s[1], out = s[2];
            Linear ref = new Linear(in, out);
            System.arraycopy(rounded(t.random(out, in)).data, 0, ref.weight.value.data, 0, out * in);
            System.arraycopy(rounded(t.random(out)).data, 0, ref.bias.value.data, 0, out);
            Params params = new Params(d, out * in + out);
            ParamRef wRef = params.add(d, ref.weight), bRef = params.add(d, ref.bias);
            Device.Linear lin = d.linear(in, out, n, wRef, bRef);
            Tensor x = rounded(t.random(n, in));
            Buffer xb = rows(d, x.data, n, in), yb = d.rows(n, out), dxb = d.rows(n, in);
            lin.forward(xb, yb, n);
            t.check("linear forward", tag, ref.forward(x).data, read(d, yb, 0, n * out));
            Tensor dy = rounded(t.random(n, out));
            lin.backward(rows(d, dy.data, n, out), xb, dxb, n);
            t.check("linear backward input", tag, ref.backward(dy).data, read(d, dxb, 0, n * in));
            t.check("linear backward weight", tag, ref.weight.grad.data, read(d, params.grad, wRef.offset(), out * in));
            t.check("linear backward bias", tag, ref.bias.grad.data, read(d, params.grad, bRef.offset(), out));

            Relu relu = new Relu();
            Tensor hx = rounded(t.random(n, out));
            Buffer hb = rows(d, hx.data, n, out), rb = d.rows(n, out);
            d.relu(hb, rb, n * out);
            t.check("relu forward", tag, relu.forward(hx).data, read(d, rb, 0, n * out));
            Tensor rdy = rounded(t.random(n, out));
            Buffer rdx = rows(d, rdy.data, n, out);
            d.reluBackward(rdx, rb, rdx, n * out); // in place, as the MLP head runs it
            t.check("relu backward", tag, relu.backward(rdy).data, read(d, rdx, 0, n * out));

            L2Normalize norm = new L2Normalize();
            Tensor hq = rounded(t.random(n, out));
            if (n > 1) Arrays.fill(hq.data, 0, out, 0.0); // a zero row: the norm is clamped to eps
            Buffer qb = d.rows(n, out), nb = d.rows(n, 1);
            d.l2Normalize(rows(d, hq.data, n, out), qb, nb, n, out);
            t.check("normalize forward", tag, norm.forward(hq).data, read(d, qb, 0, n * out));
            Tensor dq = rounded(t.random(n, out));
            Buffer dhb = d.rows(n, out);
            d.l2NormalizeBackward(rows(d, dq.data, n, out), qb, nb, dhb, n, out);
            t.check("normalize backward", tag, norm.backward(dq).data, read(d, dhb, 0, n * out));
        }
    }

    // ---- the step's own operations -------------------------------------------------------------

    void stepOperations(Device d, Twins t) {
        int[][] cases = {{8, 8, 24}, {7, 13, 33}, {64, 128, 256}}; // n, dim, K
        for (int[] s : cases) {
            String tag = " " + Arrays.toString(s);
            int n = s[0], dim = s[1], kq = s[2];
            double temperature = 0.07 + 0.1 * t.rng.nextDouble();
            Tensor q = unitRows(t, n, dim), k = unitRows(t, n, dim), queue = unitRows(t, kq, dim);
            Tensor queueT = new Tensor(dim, kq); // columns are keys
            for (int j = 0; j < kq; j++) for (int c = 0; c < dim; c++) queueT.data[c * kq + j] = queue.data[j * dim + c];
            Buffer qb = rows(d, q.data, n, dim), kb = rows(d, k.data, n, dim), queueb = buffer(d, queueT.data);
            Buffer logits = d.rows(n, 1 + kq);
            Tensor refLogits = ReferenceMoCo.contrastiveLogits(q, k, queueT, temperature);
            d.contrastiveLogits(qb, kb, queueb, n, dim, kq, temperature, logits);
            t.check("contrastive logits", tag, refLogits.data, read(d, logits, 0, n * (1 + kq)));
            Tensor roundedLogits = rounded(refLogits);
            for (int r = 0; r < Math.min(n, 2); r++) { // row 0: the positive wins; row 1: it ties with column 5, which is no win
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= kq; j++) max = Math.max(max, roundedLogits.data[r * (1 + kq) + j]);
                roundedLogits.data[r * (1 + kq)] = max + 1;
                if (r == 1) roundedLogits.data[r * (1 + kq) + 5] = max + 1;
            }
            d.write(floats(roundedLogits.data), 0, logits, 0, n * (1 + kq));
            CrossEntropy ce = new CrossEntropy();
            double[] rowLoss = new double[2 * n]; // [n, 2]: loss, hit
            for (int r = 0; r < n; r++) {
                Tensor row = new Tensor(Arrays.copyOfRange(roundedLogits.data, r * (1 + kq), (r + 1) * (1 + kq)), 1, 1 + kq);
                rowLoss[2 * r] = new CrossEntropy().forward(row, new int[1]);
                boolean top = true;
                for (int j = 1; j <= kq; j++) top &= row.data[j] < row.data[0];
                rowLoss[2 * r + 1] = top ? 1 : 0;
            }
            ce.forward(roundedLogits, new int[n]);
            Buffer dLogits = d.rows(n, 1 + kq), lossAndHit = d.rows(n, 2);
            d.crossEntropy(logits, n, 1 + kq, n, dLogits, lossAndHit);
            t.check("cross-entropy loss and hits", tag, rowLoss, read(d, lossAndHit, 0, 2 * n));
            Tensor dl = ce.backward(1.0);
            t.check("cross-entropy backward", tag, dl.data, read(d, dLogits, 0, n * (1 + kq)));
            d.crossEntropy(logits, n, 1 + kq, 3 * n, dLogits, lossAndHit); // a third of a larger batch's mean
            double[] third = dl.data.clone();
            for (int i = 0; i < third.length; i++) third[i] /= 3;
            t.check("cross-entropy backward", tag + " mean over 3n", third, read(d, dLogits, 0, n * (1 + kq)));
            Tensor dlRounded = rounded(dl);
            d.write(floats(dlRounded.data), 0, dLogits, 0, n * (1 + kq));
            Buffer dq = d.rows(n, dim);
            d.contrastiveLogitsBackward(dLogits, kb, queueb, n, dim, kq, temperature, dq);
            t.check("contrastive logits backward", tag,
                    ReferenceMoCo.contrastiveLogitsBackward(dlRounded, k, queueT, temperature).data, read(d, dq, 0, n * dim));

            // end-to-end's logits over the batch, both ways
            Tensor qk = ReferenceMoCo.concatRows(q, k);
            Buffer qkb = rows(d, qk.data, 2 * n, dim), batchLogits = d.rows(n, n);
            Tensor refBatch = ReferenceMoCo.batchLogits(q, k, temperature);
            d.batchLogits(qkb, n, dim, temperature, batchLogits);
            t.check("batch logits", tag, refBatch.data, read(d, batchLogits, 0, n * n));
            Tensor dBatch = rounded(t.random(n, n));
            Buffer dqk = d.rows(2 * n, dim);
            d.batchLogitsBackward(rows(d, dBatch.data, n, n), qkb, n, dim, temperature, dqk);
            Tensor[] refD = ReferenceMoCo.batchLogitsBackward(dBatch, q, k, temperature);
            t.check("batch logits backward", tag, ReferenceMoCo.concatRows(refD[0], refD[1]).data, read(d, dqk, 0, 2 * n * dim));

            // the memory bank's gathers and scatter (rows of queue as the bank)
            int[] pick = new int[n];
            for (int i = 0; i < n; i++) pick[i] = (i * 7 + 3) % kq;
            int[] draws = new int[kq / 2 + 1];
            for (int j = 0; j < draws.length; j++) draws[j] = t.rng.nextInt(kq); // with replacement
            Buffer bankb = buffer(d, queue.data), gathered = d.rows(n, dim), columns = d.buffer((long) dim * draws.length);
            d.gatherRows(bankb, dim, pick, gathered);
            double[] refRows = new double[n * dim];
            for (int i = 0; i < n; i++) System.arraycopy(queue.data, pick[i] * dim, refRows, i * dim, dim);
            t.check("gather rows", tag, refRows, read(d, gathered, 0, n * dim));
            d.gatherColumns(bankb, dim, draws, columns);
            double[] refCols = new double[dim * draws.length];
            for (int j = 0; j < draws.length; j++) for (int c = 0; c < dim; c++) refCols[c * draws.length + j] = queue.data[draws[j] * dim + c];
            t.check("gather columns", tag, refCols, read(d, columns, 0, dim * draws.length));
            double[] refBank = queue.data.clone();
            int[] distinct = mocoref.tensor.Permutations.random(t.rng, kq);
            int[] targets = Arrays.copyOf(distinct, n);
            for (int i = 0; i < n; i++) System.arraycopy(k.data, i * dim, refBank, targets[i] * dim, dim);
            d.scatterRows(kb, dim, targets, bankb);
            t.check("scatter rows", tag, refBank, read(d, bankb, 0, kq * dim));

            // shuffle (images) and unshuffle (keys)
            int[] order = mocoref.tensor.Permutations.random(t.rng, n);
            Tensor images = rounded(t.random(n, 3, 5, 4));
            Activation shuffled = d.activation(n, 3, 5, 4);
            d.shuffleRows(activation(d, images), order, shuffled);
            t.check("batch shuffle", tag, ReferenceMoCo.batchShuffle(images, order).data, d.readActivation(shuffled));
            Buffer unshuffled = d.rows(n, dim);
            d.unshuffleRows(qb, order, unshuffled, n, dim);
            t.check("batch unshuffle", tag, ReferenceMoCo.batchUnshuffle(q, order).data, read(d, unshuffled, 0, n * dim));

            // enqueue at a pointer that is not 0
            int ptr = kq - n;
            Tensor refQueue = queueT.copy();
            ReferenceMoCo.enqueue(refQueue, k, ptr);
            d.enqueue(queueb, kb, n, dim, kq, ptr);
            t.check("enqueue", tag, refQueue.data, read(d, queueb, 0, dim * kq));

            // the momentum update and SGD over a parameter of odd length
            int len = n * dim + 3;
            double m = 0.99;
            Tensor pk = rounded(t.random(len)), pq = rounded(t.random(len));
            Buffer kBuf = buffer(d, pk.data), qBuf = buffer(d, pq.data);
            d.momentumUpdate(kBuf, qBuf, len, m);
            double[] refK = pk.data.clone();
            ReferenceMoCo.momentumUpdate(refK, pq.data, m);
            t.check("momentum update", tag, refK, read(d, kBuf, 0, len));
            sgd(d, t, tag, len);
        }
    }

    /** Two SGD steps (the first sets the momentum buffer, the second uses it) on a slice of a larger buffer. */
    static void sgd(Device d, Twins t, String tag, int len) {
        Param p = new Param(len);
        System.arraycopy(rounded(t.random(len)).data, 0, p.value.data, 0, len);
        Sgd ref = new Sgd(java.util.Map.of("p", p), 0.9, 1e-3);
        int offset = 5;
        Buffer theta = d.buffer(len + 2 * offset), grad = d.buffer(len + 2 * offset), buf = d.buffer(len + 2 * offset);
        d.write(floats(p.value.data), 0, theta, offset, len);
        for (int step = 0; step < 2; step++) {
            Tensor g = rounded(t.random(len));
            System.arraycopy(g.data, 0, p.grad.data, 0, len);
            d.write(floats(g.data), 0, grad, offset, len);
            ref.step(0.1);
            d.sgd(theta, grad, buf, offset, len, 0.1, 0.9, 1e-3, step == 0);
            t.check("sgd", tag + " step " + step, p.value.data, read(d, theta, offset, len));
            t.check("sgd", tag + " step " + step + " buffer", ref.buffers().get("p").data, read(d, buf, offset, len));
        }
        float[] outside = read(d, theta, 0, offset);
        for (float v : outside) assertEquals(0f, v, "sgd wrote outside its slice");
    }

    static Tensor unitRows(Twins t, int rows, int dim) {
        Tensor x = t.random(rows, dim);
        for (int r = 0; r < rows; r++) {
            double sq = 0;
            for (int c = 0; c < dim; c++) sq += x.data[r * dim + c] * x.data[r * dim + c];
            for (int c = 0; c < dim; c++) x.data[r * dim + c] = (float) (x.data[r * dim + c] / Math.sqrt(sq));
        }
        return x;
    }
}
