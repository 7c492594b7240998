package mocoref.eval;

/** {@link ProbeKernel} in plain loops: the definition the vector kernel is tested against. */
final class ScalarProbeKernel implements ProbeKernel {
    @Override
    public void logits(double[] w, int w0, int features, double[] xt, int r, double bias, double[] out, int outOff, int outStride) {
        logitsFrom(0, w, w0, features, xt, r, bias, out, outOff, outStride);
    }

    /** {@link #logits} for the block's rows from {@code j0} on: also the vector kernel's rows after its last whole vector. */
    static void logitsFrom(int j0, double[] w, int w0, int features, double[] xt, int r, double bias, double[] out, int outOff,
                           int outStride) {
        for (int j = j0; j < r; j++) {
            double s0 = 0, s1 = 0;
            int t = 0;
            for (; t + 1 < features; t += 2) {
                s0 += w[w0 + t] * xt[t * r + j];
                s1 += w[w0 + t + 1] * xt[(t + 1) * r + j];
            }
            if (t < features) s0 += w[w0 + t] * xt[t * r + j];
            out[outOff + j * outStride] = s0 + s1 + bias;
        }
    }

    @Override
    public void toDoubles(float[] x, int off, double[] out, int outOff, int n) {
        widen(x, off, out, outOff, n);
    }

    /** {@code out[outOff + t] = x[off + t]} for t < n (both kernels: see VectorProbeKernel's class comment). */
    static void widen(float[] x, int off, double[] out, int outOff, int n) {
        for (int t = 0; t < n; t++) out[outOff + t] = x[off + t];
    }

    @Override
    public void axpyRows(double[] g, int gOff, int gStride, int rows, double[] x, int xStride, double[] dw, int d0, int width) {
        axpyRowsFrom(0, g, gOff, gStride, rows, x, xStride, dw, d0, width);
    }

    /** {@link #axpyRows} for the features from {@code t0} on: also the vector kernel's features after its last whole vector. */
    static void axpyRowsFrom(int t0, double[] g, int gOff, int gStride, int rows, double[] x, int xStride, double[] dw, int d0,
                             int width) {
        for (int q = 0; q < rows; q++) {
            double gq = g[gOff + q * gStride];
            for (int t = t0; t < width; t++) dw[d0 + t] += gq * x[q * xStride + t];
        }
    }
}
