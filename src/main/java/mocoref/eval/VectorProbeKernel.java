package mocoref.eval;

import static java.util.Objects.checkFromIndexSize;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link ProbeKernel} on the Vector API's preferred double species (8 lanes on AVX-512, 4 on AVX2):
 * the logits with a block's rows in the lanes, the gradient with features in the lanes. Multiplies
 * and adds stay separate ({@code mul} then {@code add}), so every lane rounds as the scalar loop.
 *
 * <p>No FloatVector here. Loading the floats through a species of half the double vector's bits
 * (256-bit floats beside the cpu kernels' 512) gave the JVM a second FloatVector class: C2 then
 * compiled the shared FloatVector methods for two classes, and the cpu kernels compiled after the
 * raw-pixel baseline had run boxed their vectors on the heap at every loop trip (1 GB/s of garbage,
 * training 16% slower: docs/performance.md, "One vector shape"; {@code cpu.VectorBoxingTest}). One
 * FloatVector shape per process, the cpu kernels' own.
 */
final class VectorProbeKernel implements ProbeKernel {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    @Override
    public void logits(double[] w, int w0, int features, double[] xt, int r, double bias, double[] out, int outOff, int outStride) {
        checkFromIndexSize(w0, features, w.length);
        checkFromIndexSize(0, features * r, xt.length);
        if (r > 0) checkFromIndexSize(outOff, (r - 1) * outStride + 1, out.length);
        int j = 0;
        for (; j + L <= r; j += L) {
            DoubleVector s0 = DoubleVector.zero(S), s1 = DoubleVector.zero(S);
            int t = 0;
            for (; t + 1 < features; t += 2) {
                s0 = s0.add(DoubleVector.fromArray(S, xt, t * r + j).mul(w[w0 + t]));
                s1 = s1.add(DoubleVector.fromArray(S, xt, (t + 1) * r + j).mul(w[w0 + t + 1]));
            }
            if (t < features) s0 = s0.add(DoubleVector.fromArray(S, xt, t * r + j).mul(w[w0 + t]));
            DoubleVector sum = s0.add(s1).add(bias);
            for (int lane = 0; lane < L; lane++) out[outOff + (j + lane) * outStride] = sum.lane(lane);
        }
        ScalarProbeKernel.logitsFrom(j, w, w0, features, xt, r, bias, out, outOff, outStride); // the last rows, fewer than a vector
    }

    /**
     * Four classes at a time from one load of each {@code xt} vector: the one-class loop reads the
     * block's transposed rows (32 rows x 784 features: 200 KB, in L2) once per class, 120 times a
     * block when the held-out search trains its grid of 12 tries at once. Each class keeps its two
     * partial sums, added in the one-class order.
     */
    @Override
    public void logitsClasses(double[] w, int w0, int wStride, int count, int features, double[] xt, int r, double[] bias, int b0,
                              double[] out, int outOff, int outStride) {
        int c = 0;
        if (r >= L) {
            checkFromIndexSize(0, features * r, xt.length);
            checkFromIndexSize(outOff, (r - 1) * outStride + count, out.length);
            for (; c + 4 <= count; c += 4) {
                int wa = w0 + c * wStride, wb = wa + wStride, wc = wb + wStride, wd = wc + wStride;
                checkFromIndexSize(wa, 3 * wStride + features, w.length);
                checkFromIndexSize(b0 + c, 4, bias.length);
                int j = 0;
                for (; j + L <= r; j += L) {
                    DoubleVector z = DoubleVector.zero(S);
                    DoubleVector a0 = z, a1 = z, b0v = z, b1v = z, c0 = z, c1 = z, d0 = z, d1 = z;
                    int t = 0;
                    for (; t + 1 < features; t += 2) {
                        DoubleVector x0 = DoubleVector.fromArray(S, xt, t * r + j), x1 = DoubleVector.fromArray(S, xt, (t + 1) * r + j);
                        a0 = a0.add(x0.mul(w[wa + t]));
                        a1 = a1.add(x1.mul(w[wa + t + 1]));
                        b0v = b0v.add(x0.mul(w[wb + t]));
                        b1v = b1v.add(x1.mul(w[wb + t + 1]));
                        c0 = c0.add(x0.mul(w[wc + t]));
                        c1 = c1.add(x1.mul(w[wc + t + 1]));
                        d0 = d0.add(x0.mul(w[wd + t]));
                        d1 = d1.add(x1.mul(w[wd + t + 1]));
                    }
                    if (t < features) {
                        DoubleVector x0 = DoubleVector.fromArray(S, xt, t * r + j);
                        a0 = a0.add(x0.mul(w[wa + t]));
                        b0v = b0v.add(x0.mul(w[wb + t]));
                        c0 = c0.add(x0.mul(w[wc + t]));
                        d0 = d0.add(x0.mul(w[wd + t]));
                    }
                    storeLanes(a0.add(a1).add(bias[b0 + c]), out, outOff + c + j * outStride, outStride);
                    storeLanes(b0v.add(b1v).add(bias[b0 + c + 1]), out, outOff + c + 1 + j * outStride, outStride);
                    storeLanes(c0.add(c1).add(bias[b0 + c + 2]), out, outOff + c + 2 + j * outStride, outStride);
                    storeLanes(d0.add(d1).add(bias[b0 + c + 3]), out, outOff + c + 3 + j * outStride, outStride);
                }
                for (int k = 0; k < 4; k++) { // the last rows, fewer than a vector
                    ScalarProbeKernel.logitsFrom(j, w, wa + k * wStride, features, xt, r, bias[b0 + c + k], out, outOff + c + k, outStride);
                }
            }
        }
        for (; c < count; c++) logits(w, w0 + c * wStride, features, xt, r, bias[b0 + c], out, outOff + c, outStride);
    }

    /** out[off + lane*stride] = v's lanes (the range checked by the caller). */
    private static void storeLanes(DoubleVector v, double[] out, int off, int stride) {
        for (int lane = 0; lane < L; lane++) out[off + lane * stride] = v.lane(lane);
    }

    @Override
    public void toDoubles(float[] x, int off, double[] out, int outOff, int n) {
        checkFromIndexSize(off, n, x.length);
        checkFromIndexSize(outOff, n, out.length);
        ScalarProbeKernel.widen(x, off, out, outOff, n); // scalar: see the class comment
    }

    @Override
    public void axpyRows(double[] g, int gOff, int gStride, int rows, double[] x, int xStride, double[] dw, int d0, int width) {
        if (rows < 1) return;
        checkFromIndexSize(gOff, (rows - 1) * gStride + 1, g.length);
        checkFromIndexSize(0, (rows - 1) * xStride + width, x.length);
        checkFromIndexSize(d0, width, dw.length);
        int t = 0;
        for (; t + L <= width; t += L) { // dw stays in a register while the rows are added in order
            DoubleVector v = DoubleVector.fromArray(S, dw, d0 + t);
            for (int q = 0; q < rows; q++) v = v.add(DoubleVector.fromArray(S, x, q * xStride + t).mul(g[gOff + q * gStride]));
            v.intoArray(dw, d0 + t);
        }
        ScalarProbeKernel.axpyRowsFrom(t, g, gOff, gStride, rows, x, xStride, dw, d0, width); // the last features, fewer than a vector
    }
}
