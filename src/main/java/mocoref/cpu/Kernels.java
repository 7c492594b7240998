package mocoref.cpu;

/**
 * The inner loops the cpu backend spends its time in, each with a scalar version
 * ({@link ScalarKernels}, always there) and a Vector API version ({@link VectorKernels}, loaded only
 * when the {@code jdk.incubator.vector} module is present). Both compute the same sums; the vector
 * one reorders additions, so results agree to float32 rounding, not bit for bit.
 *
 * <p>The central one is {@link #tile}: an rows x NR block of C += A.B where A is packed [k][stride] and
 * row k of B starts at {@code b[rowOff[k] + col]}. A table of row offsets lets the same loop read
 * B from a packed panel, from an im2col buffer, or straight from a padded activation (a stride-1
 * convolution's taps are constant shifts there), so convolutions need no im2col copy.
 */
interface Kernels {
    /**
     * MR: rows of an A micro-panel (output channels per tile). Not a constant: the best tile depends
     * on the register file (see {@link VectorKernels}), so packing code asks the kernels in use.
     */
    int mr();

    /** The chosen implementation: the Vector API one when its module is present, else the scalar one. */
    Kernels INSTANCE = KernelChoice.pick();

    /** NR: columns of a tile (output positions), a multiple of the SIMD vector length. */
    int nr();

    String name();

    /**
     * How {@code m} rows of A (a product's output channels) split into tiles, as the rows of each in
     * order, none more than mr(): see {@link RowTiles}. Here tiles of mr(), the last one ragged.
     */
    default int[] rowTiles(int m) {
        int mr = mr();
        int[] rows = new int[(m + mr - 1) / mr];
        for (int t = 0; t < rows.length; t++) rows[t] = Math.min(mr, m - t * mr);
        return rows;
    }

    /** The least stride of the packed A that {@link #tile} reads for a tile of {@code rows} rows (its kernel's rows). */
    int packRows(int rows);

    /**
     * c[cOff + r*ldc + j] (+)= sum_{k < kLen} a[aOff + k*aStride + r] * b[rowOff[k] + col + j], for r < rows <= mr(),
     * j < nr(), with aStride >= packRows(rows) (the kernel computes and drops rows rows..packRows(rows)-1); each result is multiplied by
     * {@code mask[maskOff + j]} when mask is not null (zeroing the padding of an activation).
     * {@code scratch} holds mr()*nr() floats, one per thread; on return scratch[r*nr() + j] holds the
     * product's sum for r < rows (before the accumulation and the mask), for {@link #addTile} to add
     * elsewhere too.
     */
    void tile(float[] a, int aOff, int aStride, int kLen, float[] b, int[] rowOff, int col,
              float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff, float[] scratch);

    /**
     * c[cOff + r*nr() + j] = (accumulate ? c[cOff + r*nr() + j] : 0) + sum_{k < kLen} a[aOff + k*aStride + r] *
     * b[rowOff[k] + col + j], for r < mr(), j < nr(), aStride >= mr(): a full tile whose C rows lie
     * one after another (the weight gradient's column blocks), summed from C's value on (so rounded
     * differently from {@link #tile}, which adds its sum to C) and stored straight back.
     */
    void tileInto(float[] a, int aOff, int aStride, int kLen, float[] b, int[] rowOff, int col, float[] c, int cOff, boolean accumulate);

    /**
     * {@link #tile} over a subset of A's packed rows: A's k-th row at aOff + aTap[k]*aStride, for
     * k < kLen (B's at rowOff[k] as there). The compact paths' tap classes run only the taps that
     * read the image from the one packing of every tap; with aTap[k] = k it is {@link #tile}, sum for sum.
     */
    void tileTaps(float[] a, int aOff, int aStride, int[] aTap, int kLen, float[] b, int[] rowOff, int col,
                  float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff, float[] scratch);

    /**
     * c[cOff + r*ldc + j] += t[r*nr() + j], or -= with {@code subtract}, for r < rows, j < nr(): a
     * tile's results added with a sign into another matrix (Winograd's output transform, one
     * transformed point at a time).
     */
    void addTile(float[] t, float[] c, int cOff, int ldc, int rows, boolean subtract);

    /**
     * out[outOff + r*4 + s] += sum_{t < len} a[aRow[r] + t] * b[bRow[s] + t] for r, s < 4: sixteen
     * dot products sharing their loads (weight gradients: dW[o, k] = sum_q dY[o, q] X[k, q]).
     * {@code scratch} holds 8 * nr() floats, one per thread.
     */
    void dot4x4(float[] a, int a0, int a1, int a2, int a3, float[] b, int b0, int b1, int b2, int b3,
                int len, float[] out, int outOff, float[] scratch);

    /**
     * dst[dstOff + i*ldd + c] = src[srcOff + c*srcLd + at[i]] (or + i where {@code at} is null), for
     * i < count, c < channels: channel rows turned into position rows (the weight gradient's XT and
     * packed dY). The vector version gathers L channels of a position at once, or L/2 channels of two
     * neighbouring positions.
     */
    void transpose(float[] src, int srcOff, int srcLd, int channels, int[] at, int atOff, int count, float[] dst, int dstOff, int ldd);

    /**
     * dst[dstOff + i] = src[srcOff + index[indexOff + i]] for i < count: a strided convolution's
     * reads of its input through a table of source positions. Every index is checked.
     */
    void gather(float[] src, int srcOff, int[] index, int indexOff, int count, float[] dst, int dstOff);

    /**
     * dst[dstOff + r*ldd + i] = src[rowFrom[r] + index[indexOff + i]] for r < rows, i < count: {@link #gather}
     * for rows that read the same positions at their own offsets (a strided forward's taps of one tile),
     * the indexes checked once for all the rows (their least and greatest against each row's offset).
     */
    void gatherRows(float[] src, int[] rowFrom, int rows, int[] index, int indexOff, int count, float[] dst, int dstOff, int ldd);

    /** sum x[off .. off+len) in a double. */
    double sum(float[] x, int off, int len);

    /**
     * {sum d, sum d^2} with d = (x - shift) * mask[maskOff + i] over x[off .. off+len), in doubles,
     * into {@code sums}: BatchNorm's statistics in one pass. With {@code shift} near the mean, the
     * variance sum d^2 - (sum d)^2 / n keeps the two-pass formula's accuracy; the mask (1 at image
     * positions, 0 on the layout's padding) keeps the padding out of the sums exactly, where its
     * (0 - shift)^2 added and subtracted again would cost the float partial sums their precision.
     */
    void shiftedSums(float[] x, int off, int len, float shift, float[] mask, int maskOff, double[] sums);

    /**
     * y = mask * f(x*scale + shift [+ res]), f = ReLU or identity: BatchNorm's affine normalization,
     * with the residual add and the ReLU of a block fused in. {@code res} may be null. y may be x or
     * res (each element is read before it is written): a forward-only block writes its output over
     * its input (see float32.ActivationPool.HANDOFF).
     */
    void scaleShift(float[] x, int xOff, float[] res, int resOff, float scale, float shift, boolean relu,
                    float[] mask, int maskOff, float[] y, int yOff, int len);

    /**
     * dz = dy, or with {@code y} (the ReLU's output) not null dz = y > 0 ? dy : 0 (ReLU's gradient);
     * puts {sum dz, sum dz*(x - mean)} into {@code sums}.
     */
    void reluGradSums(float[] dy, float[] y, float[] x, int off, int len, float mean, float[] dz, double[] sums);

    /** dx = mask * (a*dz + c*(x - mean) + b): BatchNorm's input gradient with its three terms folded. */
    void bnInputGrad(float[] dz, float[] x, int off, int len, float mean, float a, float b, float c,
                     float[] mask, int maskOff, float[] dx, int dxOff);

    /** y[i] = exp(x[i] - max) for i < len; returns their sum (a softmax's denominator). */
    double expShifted(float[] x, int xOff, int len, float max, float[] y, int yOff);

    /** max of x[off .. off+len). */
    float max(float[] x, int off, int len);
}
