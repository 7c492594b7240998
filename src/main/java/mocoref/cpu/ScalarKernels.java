package mocoref.cpu;

/** Plain loops: the kernels of a JVM without the Vector API, and the twins the vector ones are tested against. */
final class ScalarKernels implements Kernels {
    private final int mr, nr;

    /** Tiles of mr x nr: any shape works; tests give the vector kernels' to compare like with like. */
    ScalarKernels(int mr, int nr) {
        this.mr = mr;
        this.nr = nr;
    }

    @Override
    public int mr() {
        return mr;
    }

    @Override
    public int nr() {
        return nr;
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public int packRows(int rows) {
        return rows;
    }

    @Override
    public void tile(float[] a, int aOff, int aStride, int kLen, float[] b, int[] rowOff, int col,
                     float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff, float[] scratch) {
        product(a, aOff, aStride, null, kLen, b, rowOff, col, c, cOff, ldc, rows, accumulate, mask, maskOff, scratch);
    }

    @Override
    public void tileInto(float[] a, int aOff, int aStride, int kLen, float[] b, int[] rowOff, int col, float[] c, int cOff, boolean accumulate) {
        if (aStride < mr) throw new IllegalArgumentException("A's stride " + aStride + " under the tile's " + mr + " rows");
        for (int r = 0; r < mr; r++) {
            for (int j = 0; j < nr; j++) {
                int at = cOff + r * nr + j;
                float sum = accumulate ? c[at] : 0;
                for (int k = 0; k < kLen; k++) sum += a[aOff + k * aStride + r] * b[rowOff[k] + col + j];
                c[at] = sum;
            }
        }
    }

    @Override
    public void tileTaps(float[] a, int aOff, int aStride, int[] aTap, int kLen, float[] b, int[] rowOff, int col,
                         float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff, float[] scratch) {
        product(a, aOff, aStride, java.util.Objects.requireNonNull(aTap), kLen, b, rowOff, col, c, cOff, ldc, rows, accumulate, mask, maskOff,
                scratch);
    }

    /** Both tiles: A's k-th row is row aTap[k] of its packing, or row k where aTap is null. */
    private void product(float[] a, int aOff, int aStride, int[] aTap, int kLen, float[] b, int[] rowOff, int col,
                         float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff, float[] scratch) {
        if (rows < 1 || rows > mr || aStride < rows) throw new IllegalArgumentException(rows + " rows of a " + mr + "-row tile, A's stride " + aStride);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < nr; j++) {
                float sum = 0;
                for (int k = 0; k < kLen; k++) sum += a[aOff + (aTap == null ? k : aTap[k]) * aStride + r] * b[rowOff[k] + col + j];
                scratch[r * nr + j] = sum;
                int at = cOff + r * ldc + j;
                float v = accumulate ? c[at] + sum : sum;
                c[at] = mask == null ? v : v * mask[maskOff + j];
            }
        }
    }

    @Override
    public void addTile(float[] t, float[] c, int cOff, int ldc, int rows, boolean subtract) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < nr; j++) {
                int at = cOff + r * ldc + j;
                c[at] = subtract ? c[at] - t[r * nr + j] : c[at] + t[r * nr + j];
            }
        }
    }

    @Override
    public void dot4x4(float[] a, int a0, int a1, int a2, int a3, float[] b, int b0, int b1, int b2, int b3,
                       int len, float[] out, int outOff, float[] scratch) {
        int[] ar = {a0, a1, a2, a3}, br = {b0, b1, b2, b3};
        for (int r = 0; r < 4; r++) {
            for (int s = 0; s < 4; s++) {
                float sum = 0;
                for (int t = 0; t < len; t++) sum += a[ar[r] + t] * b[br[s] + t];
                out[outOff + r * 4 + s] += sum;
            }
        }
    }

    @Override
    public void transpose(float[] src, int srcOff, int srcLd, int channels, int[] at, int atOff, int count, float[] dst, int dstOff, int ldd) {
        for (int i = 0; i < count; i++) {
            int from = srcOff + (at == null ? i : at[atOff + i]), to = dstOff + i * ldd;
            for (int c = 0; c < channels; c++) dst[to + c] = src[from + c * srcLd];
        }
    }

    @Override
    public void gather(float[] src, int srcOff, int[] index, int indexOff, int count, float[] dst, int dstOff) {
        for (int i = 0; i < count; i++) dst[dstOff + i] = src[srcOff + index[indexOff + i]];
    }

    @Override
    public void gatherRows(float[] src, int[] rowFrom, int rows, int[] index, int indexOff, int count, float[] dst, int dstOff, int ldd) {
        for (int r = 0; r < rows; r++) gather(src, rowFrom[r], index, indexOff, count, dst, dstOff + r * ldd);
    }

    @Override
    public double sum(float[] x, int off, int len) {
        double s = 0;
        for (int i = 0; i < len; i++) s += x[off + i];
        return s;
    }

    @Override
    public void shiftedSums(float[] x, int off, int len, float shift, float[] mask, int maskOff, double[] sums) {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < len; i++) {
            float d = (x[off + i] - shift) * mask[maskOff + i];
            s1 += d;
            s2 += d * d;
        }
        sums[0] = s1;
        sums[1] = s2;
    }

    @Override
    public void scaleShift(float[] x, int xOff, float[] res, int resOff, float scale, float shift, boolean relu,
                           float[] mask, int maskOff, float[] y, int yOff, int len) {
        for (int i = 0; i < len; i++) {
            float v = x[xOff + i] * scale + shift;
            if (res != null) v += res[resOff + i];
            if (relu) v = Math.max(v, 0f);
            y[yOff + i] = v * mask[maskOff + i];
        }
    }

    @Override
    public void reluGradSums(float[] dy, float[] y, float[] x, int off, int len, float mean, float[] dz, double[] sums) {
        double sumDz = 0, sumDzX = 0;
        for (int i = off; i < off + len; i++) {
            float d = (y == null || y[i] > 0) ? dy[i] : 0f;
            dz[i] = d;
            sumDz += d;
            sumDzX += d * (x[i] - mean);
        }
        sums[0] = sumDz;
        sums[1] = sumDzX;
    }

    @Override
    public void bnInputGrad(float[] dz, float[] x, int off, int len, float mean, float a, float b, float c,
                            float[] mask, int maskOff, float[] dx, int dxOff) {
        for (int i = 0; i < len; i++) {
            dx[dxOff + i] = (a * dz[off + i] + c * (x[off + i] - mean) + b) * mask[maskOff + i];
        }
    }

    @Override
    public double expShifted(float[] x, int xOff, int len, float max, float[] y, int yOff) {
        double s = 0;
        for (int i = 0; i < len; i++) {
            float e = exp(x[xOff + i] - max);
            y[yOff + i] = e;
            s += e;
        }
        return s;
    }

    @Override
    public float max(float[] x, int off, int len) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) m = Math.max(m, x[off + i]);
        return m;
    }
    // e^x in float32 from IEEE operations alone (Cody and Waite's reduction, Cephes' expf
    // polynomial): the same bits interpreted or compiled, and the same as VectorKernels.exp lane
    // for lane. Relative error about 1 ulp on [-87, 0].
    static final float EXP_MIN = -87f;
    static final float LOG2E = 1.44269504f;
    /** 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits. */
    static final float EXP_ROUND = 12582912f;
    static final int EXP_ROUND_BITS = 0x4B400000;
    static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    static final float[] EXP_C = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
        1.6666665459e-1f, 5.0000001201e-1f, 1f, 1f};

    /** e^x for x <= 0; 0 at or below {@link #EXP_MIN} (where e^x is below 1.7e-38), NaN for NaN. */
    static float exp(float x) {
        if (x != x) return x;
        float xc = Math.max(x, EXP_MIN);
        float shifted = Math.fma(xc, LOG2E, EXP_ROUND);
        float n = shifted - EXP_ROUND;
        float r = Math.fma(-n, LN2_HI, xc);
        r = Math.fma(-n, LN2_LO, r);
        float p = EXP_C[0];
        for (int i = 1; i < EXP_C.length; i++) p = Math.fma(p, r, EXP_C[i]);
        int scale = (Float.floatToRawIntBits(shifted) - EXP_ROUND_BITS) << 23;
        return x <= EXP_MIN ? 0f : Float.intBitsToFloat(Float.floatToRawIntBits(p) + scale);
    }
}
