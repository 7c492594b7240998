package mocoref.eval;

/**
 * The linear probe's two hot loops ({@link LinearClassifier}), in float64. A scalar and a Vector API
 * version sit side by side ({@link ScalarProbeKernel}, {@link VectorProbeKernel}); both multiply and
 * then add, each rounded as Java's scalar arithmetic rounds, in the same order, so they agree bit
 * for bit with each other and with the plain loops they replace.
 */
interface ProbeKernel {
    /**
     * The logits of one class for a block of {@code r} rows transposed as {@code xt[t*r + j]}:
     * {@code out[outOff + j*outStride] = (sum over even t of w[w0+t]*xt[t*r+j] + sum over odd t of
     * the same) + bias}, each partial sum in t order.
     */
    void logits(double[] w, int w0, int features, double[] xt, int r, double bias, double[] out, int outOff, int outStride);

    /**
     * {@link #logits} of {@code count} classes whose weights start {@code wStride} apart from
     * {@code w0}, class c with bias {@code bias[b0 + c]} into column {@code outOff + c}: each logit's
     * sums exactly as {@link #logits} makes them, so a kernel may compute several classes from one
     * load of {@code xt}.
     */
    default void logitsClasses(double[] w, int w0, int wStride, int count, int features, double[] xt, int r, double[] bias, int b0,
                               double[] out, int outOff, int outStride) {
        for (int c = 0; c < count; c++) logits(w, w0 + c * wStride, features, xt, r, bias[b0 + c], out, outOff + c, outStride);
    }

    /**
     * {@code dw[d0 + t] += g[gOff + q*gStride] * x[q*xStride + t]} for rows q < rows in q order, for
     * t < width: each element's sum in row order, as one row after another would add it.
     */
    void axpyRows(double[] g, int gOff, int gStride, int rows, double[] x, int xStride, double[] dw, int d0, int width);

    /** {@code out[outOff + t] = x[off + t]} (float to double, exact) for t < n. */
    void toDoubles(float[] x, int off, double[] out, int outOff, int n);

    /** The Vector API kernel when {@code jdk.incubator.vector} is present, else the scalar one. */
    static ProbeKernel pick() {
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        if (vectorModule && !Boolean.getBoolean("mocoref.cpu.scalar")) {
            try {
                // By name, so that the JVM never links the incubator classes when the module is absent.
                return (ProbeKernel) Class.forName("mocoref.eval.VectorProbeKernel").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                // fall through to the scalar kernel
            }
        }
        return new ScalarProbeKernel();
    }
}
