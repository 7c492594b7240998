package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.parallel.WorkerPool;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The cpu device's own pieces, below the {@link mocoref.device.Device} operations that
 * {@code float32.DeviceTwinTest} compares with the reference: the GEMM behind the head and the
 * logits (against a float64 product), the Vector API kernels against the scalar ones, and the
 * padded layout's invariant that every position outside the images holds zero after every
 * operation that writes an activation (the direct convolutions read their neighbours' padding as
 * the zero border). Elementwise tolerance {@code |a - b| <= 1e-5 + 1e-4 |ref|}.
 */
class CpuKernelTest {
    static final double ATOL = 1e-5, RTOL = 1e-4;
    static final Set<String> PAIRS = new TreeSet<>();
    static final int EXPECTED_PAIRS = 16;

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

    // ---- the padded layout ---------------------------------------------------------------------

    /** Every position of an activation outside its images holds zero. */
    static void assertPaddingZero(Activation a, String what) {
        CpuDevice.CpuActivation c = (CpuDevice.CpuActivation) a;
        Plane p = c.plane;
        float[] data = c.values();
        float[] inside = new float[c.floats()];
        for (int ch = 0; ch < c.channels; ch++) {
            for (int b = 0; b < p.n(); b++) {
                for (int i = 0; i < p.h(); i++) {
                    for (int j = 0; j < p.w(); j++) inside[p.at(ch, b, i, j)] = 1;
                }
            }
        }
        for (int i = 0; i < inside.length; i++) {
            if (inside[i] == 0 && data[i] != 0) throw new AssertionError(what + ": padding at " + i + " holds " + data[i]);
        }
    }

    @Test
    void everyWriterKeepsThePaddingZero() {
        CpuDevice d = new CpuDevice(2);
        // in, out, kernel, stride, padding, n, h, w: direct, strided on the tile, strided off it, the 7x7 stem
        int[][] convs = {{16, 8, 3, 1, 1, 2, 7, 9}, {16, 13, 3, 2, 1, 2, 9, 7}, {6, 10, 1, 2, 0, 3, 5, 8}, {3, 4, 7, 2, 3, 2, 11, 10}};
        for (int[] s : convs) {
            String tag = " " + java.util.Arrays.toString(s);
            Device.ConvShape shape = new Device.ConvShape(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            int wn = s[0] * s[1] * s[2] * s[2];
            Buffer w = d.buffer(wn), g = d.buffer(wn);
            d.write(toFloats(random(wn).data), 0, w, 0, wn);
            Device.Conv2d conv = d.conv2d(shape, new ParamRef(w, g, 0, wn));
            Activation x = d.activation(s[5], s[0], s[6], s[7]), y = d.activation(s[5], s[1], shape.outH(), shape.outW());
            d.writeImages(toFloats(random(s[5], s[0], s[6], s[7]).data), 0, x);
            conv.forward(x, y);
            assertPaddingZero(y, "conv forward" + tag);
            Activation dx = d.activation(s[5], s[0], s[6], s[7]);
            conv.backwardInput(y, dx, false);
            assertPaddingZero(dx, "conv backward input" + tag);
            conv.backwardInput(y, dx, true);
            assertPaddingZero(dx, "conv backward input, accumulated" + tag);
        }
        int n = 4, ch = 5, h = 6, wd = 7;
        Buffer params = d.buffer(2 * ch), grads = d.buffer(2 * ch), stats = d.buffer(2 * ch);
        d.fill(params, 0, ch, 1f);
        d.fill(stats, ch, ch, 1f);
        Device.BatchNorm2d bn = d.batchNorm2d(ch, n, h, wd, 2, new ParamRef(params, grads, 0, ch), new ParamRef(params, grads, ch, ch),
                stats, 0, ch);
        Activation x = d.activation(n, ch, h, wd), r = d.activation(n, ch, h, wd), y = d.activation(n, ch, h, wd);
        d.writeImages(toFloats(random(n, ch, h, wd).data), 0, x);
        d.writeImages(toFloats(random(n, ch, h, wd).data), 0, r);
        bn.forwardTrain(x, r, false, y, 2); // BN(x) + r without a ReLU: the shift would show in the padding
        assertPaddingZero(y, "bn forward");
        Activation dz = d.activation(n, ch, h, wd), dx = d.activation(n, ch, h, wd);
        bn.backward(y, null, x, dz, dx);
        assertPaddingZero(dx, "bn backward");
        bn.forwardEval(x, null, false, y);
        assertPaddingZero(y, "bn eval forward");
        Device.MaxPool2d max = d.maxPool2d(ch, n, h, wd, 3, 2, 1);
        Activation my = d.activation(n, ch, max.outH(), max.outW());
        max.forward(x, my);
        assertPaddingZero(my, "max pool forward");
        max.backward(my, dx);
        assertPaddingZero(dx, "max pool backward");
        Device.GlobalAvgPool avg = d.globalAvgPool(ch, n, h, wd);
        Buffer f = d.buffer((long) n * ch);
        d.write(toFloats(random(n * ch).data), 0, f, 0, n * ch);
        avg.backward(f, dx);
        assertPaddingZero(dx, "global avg pool backward");
        Activation shuffled = d.activation(n, ch, h, wd);
        d.shuffleRows(x, new int[] {2, 0, 3, 1}, shuffled);
        assertPaddingZero(shuffled, "shuffle");
        d.add(x, shuffled);
        assertPaddingZero(shuffled, "add");
    }

    // ---- Vector API kernels against the scalar ones ---------------------------------------------

    /**
     * The tap classes' kernel over a subset of A's rows gives the bits of the plain kernel over a
     * copy of A holding only those rows: the same products in the same order (the compact paths'
     * same-bits claim rests on it), for every row count's kernel.
     */
    @Test
    void tileTapsIsTheTileOverItsRows() {
        Kernels k = Kernels.INSTANCE;
        int nr = k.nr(), mr = k.mr(), all = 45;
        int[] aTap = {0, 1, 3, 4, 9, 10, 12, 13, 20, 21, 44}; // a corner class's taps, say
        java.util.Random rng = new java.util.Random(5);
        for (int rows = 1; rows <= mr; rows++) {
            int stride = k.packRows(rows);
            float[] a = new float[all * stride], b = new float[all * 2 + nr + 8];
            for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
            for (int i = 0; i < b.length; i++) b[i] = (float) rng.nextGaussian();
            float[] subset = new float[aTap.length * stride];
            int[] rowOff = new int[aTap.length];
            for (int i = 0; i < aTap.length; i++) {
                System.arraycopy(a, aTap[i] * stride, subset, i * stride, stride);
                rowOff[i] = 2 * aTap[i];
            }
            float[] viaTaps = new float[rows * nr], viaCopy = new float[rows * nr];
            k.tileTaps(a, 0, stride, aTap, aTap.length, b, rowOff, 3, viaTaps, 0, nr, rows, false, null, 0, new float[mr * nr]);
            k.tile(subset, 0, stride, aTap.length, b, rowOff, 3, viaCopy, 0, nr, rows, false, null, 0, new float[mr * nr]);
            org.junit.jupiter.api.Assertions.assertArrayEquals(viaCopy, viaTaps, 0f, rows + " rows");
        }
    }

    @Test
    void vectorKernelsMatchScalar() {
        Kernels vector = KernelChoice.vector();
        assertNotNull(vector, "the tests run with --add-modules jdk.incubator.vector (pom.xml's mocoref.jvm.flags)");
        Kernels scalar = new ScalarKernels(vector.mr(), vector.nr());
        int nr = vector.nr(), mr = vector.mr();
        for (int kLen : new int[] {1, 9, 37}) {
            for (int rows = 1; rows <= mr; rows++) { // every ragged remainder's kernel, and the full tile
                int stride = vector.packRows(rows); // A packed at the least stride the vector kernel reads
                float[] a = toFloats(random(kLen * stride).data), b = toFloats(random(kLen * 3 + nr + 50).data);
                float[] mask = toFloats(random(nr + 3).data);
                int[] rowOff = new int[kLen];
                for (int t = 0; t < kLen; t++) rowOff[t] = 3 * t + 1;
                float[] cv = toFloats(random(rows * (nr + 5) + 10).data), cs = cv.clone();
                vector.tile(a, 0, stride, kLen, b, rowOff, 7, cv, 2, nr + 5, rows, true, mask, 3, new float[mr * nr]);
                scalar.tile(a, 0, stride, kLen, b, rowOff, 7, cs, 2, nr + 5, rows, true, mask, 3, new float[mr * nr]);
                twin("kernel tile [" + kLen + "x" + rows + "]", slice(cs, 0, cs.length), cv);
            }
        }
        for (int kLen : new int[] {1, 9, 37}) { // tileTaps over every other row of a packing of 2*kLen rows
            for (int rows = 1; rows <= mr; rows++) {
                int stride = vector.packRows(rows) + 1; // a wider stride than the kernel's rows, as a row tile of another split
                float[] a = toFloats(random(2 * kLen * stride).data), b = toFloats(random(kLen * 3 + nr + 50).data);
                float[] mask = toFloats(random(nr + 3).data);
                int[] rowOff = new int[kLen], aTap = new int[kLen];
                for (int t = 0; t < kLen; t++) {
                    rowOff[t] = 3 * t + 1;
                    aTap[t] = 2 * t + 1;
                }
                float[] cv = toFloats(random(rows * (nr + 5) + 10).data), cs = cv.clone();
                vector.tileTaps(a, 0, stride, aTap, kLen, b, rowOff, 7, cv, 2, nr + 5, rows, true, mask, 3, new float[mr * nr]);
                scalar.tileTaps(a, 0, stride, aTap, kLen, b, rowOff, 7, cs, 2, nr + 5, rows, true, mask, 3, new float[mr * nr]);
                twin("kernel tileTaps [" + kLen + "x" + rows + "]", slice(cs, 0, cs.length), cv);
            }
        }
        for (int kLen : new int[] {1, 9, 128}) { // tileInto: C's rows one after another, summed from C's value
            int stride = mr + 1;
            float[] a = toFloats(random(kLen * stride + 3).data), b = toFloats(random(kLen * 3 + nr + 50).data);
            int[] rowOff = new int[kLen];
            for (int t = 0; t < kLen; t++) rowOff[t] = 3 * t + 1;
            float[] cv = toFloats(random(mr * nr + 10).data), cs = cv.clone();
            vector.tileInto(a, 3, stride, kLen, b, rowOff, 7, cv, 4, true);
            scalar.tileInto(a, 3, stride, kLen, b, rowOff, 7, cs, 4, true);
            twin("kernel tileInto [" + kLen + "]", slice(cs, 0, cs.length), cv);
            // from zero it is tile's product: the same FMAs in the same order, so the same bits
            float[] into = toFloats(random(mr * nr).data), viaTile = new float[mr * nr];
            vector.tileInto(a, 3, stride, kLen, b, rowOff, 7, into, 0, false);
            vector.tile(a, 3, stride, kLen, b, rowOff, 7, viaTile, 0, nr, mr, false, null, 0, new float[mr * nr]);
            org.junit.jupiter.api.Assertions.assertArrayEquals(viaTile, into, 0f, "tileInto from zero, k " + kLen);
        }
        for (int rows = 1; rows <= mr; rows++) { // addTile, both signs: the same adds, so the same bits
            for (boolean subtract : new boolean[] {false, true}) {
                float[] t = toFloats(random(mr * nr).data), cv = toFloats(random(rows * (nr + 5) + 10).data), cs = cv.clone();
                vector.addTile(t, cv, 3, nr + 5, rows, subtract);
                scalar.addTile(t, cs, 3, nr + 5, rows, subtract);
                org.junit.jupiter.api.Assertions.assertArrayEquals(cs, cv, 0f, "addTile " + rows + " rows" + (subtract ? ", subtract" : ""));
            }
        }
        for (int len : new int[] {1, 7, 8, 100, 1029}) {
            float[] x = toFloats(random(len + 20).data), y = toFloats(random(len + 20).data), m = toFloats(random(len + 20).data);
            float[] ov = new float[16], os = new float[16];
            vector.dot4x4(x, 0, 3, 5, 11, y, 1, 2, 9, 14, len, ov, 0, new float[8 * vector.nr()]);
            scalar.dot4x4(x, 0, 3, 5, 11, y, 1, 2, 9, 14, len, os, 0, new float[8 * vector.nr()]);
            twin("kernel dot4x4 [" + len + "]", slice(os, 0, 16), ov);
            twin("kernel sum [" + len + "]", new double[] {scalar.sum(x, 3, len)}, new float[] {(float) vector.sum(x, 3, len)});
            double[] shiftedScalar = new double[2], shiftedVector = new double[2];
            float[] zeroOne = new float[len + 20];
            for (int i = 0; i < zeroOne.length; i++) zeroOne[i] = i % 5 == 0 ? 0f : 1f; // as a layout's mask
            scalar.shiftedSums(x, 3, len, 0.3f, zeroOne, 2, shiftedScalar);
            vector.shiftedSums(x, 3, len, 0.3f, zeroOne, 2, shiftedVector);
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
        // transpose and gather only move floats: the same bits
        java.util.Random rng = new java.util.Random(7);
        for (int channels : new int[] {1, 4, 5, 8, 16, 17, 33, 64}) {
            for (int mode = 0; mode < 6; mode++) { // positions in order, at random, in runs; rows apart or packed (the pairs path)
                boolean indexed = mode % 3 > 0;
                int count = 37, ld = 41 + channels % 3, srcOff = 5, ldd = mode < 3 ? channels + 3 : channels;
                float[] src = toFloats(random(channels * ld + 2 * count + 20).data);
                int[] at = new int[count + 4];
                for (int i = 0; i < at.length; i++) at[i] = mode % 3 == 1 ? rng.nextInt(2 * count) : i + i / 5; // runs of 5
                float[] dv = new float[(count + 2) * ldd + 8], ds = dv.clone();
                vector.transpose(src, srcOff, ld, channels, indexed ? at : null, 2, count, dv, 4, ldd);
                scalar.transpose(src, srcOff, ld, channels, indexed ? at : null, 2, count, ds, 4, ldd);
                org.junit.jupiter.api.Assertions.assertArrayEquals(ds, dv, 0f, "transpose " + channels + " channels, mode " + mode);
                for (int i = 0; i < count; i++) { // and it is the transpose
                    int p = indexed ? at[2 + i] : i;
                    for (int c = 0; c < channels; c++) assertEquals(src[srcOff + c * ld + p], dv[4 + i * ldd + c], "transpose " + i + ", " + c);
                }
            }
        }
        for (int count : new int[] {1, 15, 16, 17, 31, 100}) {
            float[] src = toFloats(random(300).data), dv = new float[count + 9], ds = dv.clone();
            int[] index = new int[count + 3];
            for (int i = 0; i < index.length; i++) index[i] = rng.nextInt(300) - 40; // negative: before srcOff
            vector.gather(src, 40, index, 3, count, dv, 6);
            scalar.gather(src, 40, index, 3, count, ds, 6);
            org.junit.jupiter.api.Assertions.assertArrayEquals(ds, dv, 0f, "gather " + count);
            for (int i = 0; i < count; i++) assertEquals(src[40 + index[3 + i]], dv[6 + i], "gather " + i);
            // gatherRows: rows at their own offsets, ldd apart
            int[] rowFrom = {40, 45, 41, 60}; // indexes in [-40, 260): rows from 40 to 60 read within 330 floats
            float[] wide = toFloats(random(330).data), rv = new float[3 * (count + 2) + count + 5], rs = rv.clone();
            vector.gatherRows(wide, rowFrom, rowFrom.length - 1, index, 3, count, rv, 5, count + 2);
            scalar.gatherRows(wide, rowFrom, rowFrom.length - 1, index, 3, count, rs, 5, count + 2);
            org.junit.jupiter.api.Assertions.assertArrayEquals(rs, rv, 0f, "gatherRows " + count);
            for (int r = 0; r < rowFrom.length - 1; r++) {
                for (int i = 0; i < count; i++) assertEquals(wide[rowFrom[r] + index[3 + i]], rv[5 + r * (count + 2) + i], "gatherRows " + r + ", " + i);
            }
        }
        assertTrue(vector.name().startsWith("vector"));
    }
}
