package mocoref.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import static java.util.Objects.checkFromIndexSize;
import static java.util.Objects.checkIndex;

/**
 * The kernels on the Vector API with the preferred species (512 bits on AVX-512: 16 floats; 256 on
 * AVX2: 8). Loaded by name from {@link KernelChoice}, so nothing else in the backend links against
 * the incubator module. Accumulators are locals, not arrays, so that C2 keeps them in registers.
 *
 * <p>The micro-kernel's shape follows the register file. AVX-512 has 32 vector registers: the
 * 8 x 2L tile (16 accumulators, 2 B vectors, 1 broadcast) fits. AVX2 has 16, so that tile spills
 * (single-threaded 3x3 convolution 64 -> 64 on a Zen 5 VM, JDK 17: 8x2 45 GFLOP/s, 4x3 36, 6x2
 * 66-70, a 12-chain FMA loop 72-78). AVX2 runs tiles of 5 x 2L (10 + 2 + 1 = 13 registers) and
 * 4 x 2L, mixed so that no tile is ragged where the channels allow it (16 = 4+4+4+4, 32 =
 * 5+5+5+5+4+4+4, 64 = twelve of 5 and one of 4: {@link #rowTiles}); the 5-row tile runs a 3x3
 * convolution 2-6% faster than the 4-row one (docs/performance.md, fourteenth sitting). The
 * 6 x 2L one (15 of the 16) is as fast only when C2 allocates it without a spill, which it does in
 * about half of the JVMs started: in the others it keeps an accumulator on the stack, reloaded and
 * stored every k, and the whole step runs at 0.55-0.65 of its speed (docs/performance.md, "An AVX2
 * tile that C2 spilled in half of the runs"). The 6 x 2L tile stays as the wide tile's remainder
 * (rows 5-6 of a ragged last tile), where 32 registers leave no room for a spill.
 *
 * <p><b>Bounds.</b> Every method checks the ranges it will touch itself, before its vector loop or,
 * in the micro-kernels, once per k for both B loads, with {@code Objects.checkIndex}, so each
 * access is proven in bounds by Java code. That lets the launcher and the tests run with
 * {@code -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0} (the Vector API's own check per load,
 * as llama3.java runs): with the API's two checks per k the 8 x 2L tile ran a 64 -> 64 3x3
 * convolution alone (batch 64) at 117-133 GFLOP/s on one core of the Zen 5 VM, with this one at
 * 146-180 (forward; the data gradient alike, the weight gradient 104-119 -> 124-142). In the whole
 * step the gain is far smaller (with the padded layouts of {@link Plane#oddLines}, +1 to +3% at
 * width 32, batch 64: the kernels there wait on memory more than on the checks). Without the
 * property the same code runs, only slower.
 */
final class VectorKernels implements Kernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Ints of S's lane count: a gather's indexes. */
    private static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, S.vectorShape());
    /** 32 vector registers (AVX-512, 16 floats a vector): the 8-row tile; else the 5- and 4-row ones. */
    private static final boolean WIDE = L >= 16;
    private static final int TILE_ROWS = WIDE ? 8 : 5;
    /** Partial sums stay in float this many elements, then move to a double. */
    private static final int FLUSH = 64 * 16;

    @Override
    public int mr() {
        return TILE_ROWS;
    }

    @Override
    public int nr() {
        return 2 * L;
    }

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize() + " " + TILE_ROWS + "x" + (2 * L);
    }

    /**
     * AVX-512: tiles of 8, the last one ragged. AVX2: n = ceil(m / 5) tiles, as many of them 5 rows
     * as keeps the others at 4; where that cannot be (1-3, 6, 7, 11 rows), tiles of 5 and a ragged last.
     */
    @Override
    public int[] rowTiles(int m) {
        int n = (m + TILE_ROWS - 1) / TILE_ROWS;
        int fives = m - 4 * n; // tiles of 5 when the rest are 4: 5f + 4(n - f) = m
        if (WIDE || fives < 0) return Kernels.super.rowTiles(m);
        int[] rows = new int[n];
        for (int t = 0; t < n; t++) rows[t] = t < fives ? 5 : 4;
        return rows;
    }

    /** The rows of the kernel that runs a tile of {@code rows} rows ({@link #tile}'s dispatch). */
    @Override
    public int packRows(int rows) {
        if (rows <= 2) return 2;
        if (rows <= 4) return 4;
        if (rows <= 5 && !WIDE) return 5;
        if (rows <= 6 && WIDE) return 6;
        return 8;
    }

    @Override
    public void tile(float[] a, int aOff, int aStride, int kLen, float[] b, int[] rowOff, int col,
                     float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff, float[] t) {
        // A ragged tile (20 channels = 8 + 8 + 4 on AVX-512, 6 = 5 + 1 on AVX2) runs a narrower
        // kernel instead of multiplying rows of zeros: the same sums in the same order.
        checkTile(aStride, c, cOff, ldc, rows, mask, maskOff, t);
        switch (packRows(rows)) { // the kernel whose rows packRows names
            case 2 -> tile2x2(a, aOff, aStride, kLen, b, rowOff, col, t);
            case 4 -> tile4x2(a, aOff, aStride, kLen, b, rowOff, col, t);
            case 5 -> tile5x2(a, aOff, aStride, kLen, b, rowOff, col, ZEROS, 0, t, 0); // AVX2 only
            case 6 -> tile6x2(a, aOff, aStride, kLen, b, rowOff, col, t); // wide tiles only
            default -> tile8x2(a, aOff, aStride, kLen, b, rowOff, col, ZEROS, 0, t, 0);
        }
        epilogue(t, c, cOff, ldc, rows, accumulate, mask, maskOff);
    }

    /** The full tile's accumulators start here where they start from zero ({@link #tile}). */
    private static final float[] ZEROS = new float[TILE_ROWS * 2 * L];

    /**
     * The full tile's kernel (8 x 2L; 5 x 2L with AVX2), its accumulators loaded from C (or zero)
     * and stored straight back: no scratch tile and no epilogue pass over it (16 stores, 16 loads
     * and C's read-modify-write of 16 vectors per call, against 8 k-steps of FMAs at k = 128).
     */
    @Override
    public void tileInto(float[] a, int aOff, int aStride, int kLen, float[] b, int[] rowOff, int col, float[] c, int cOff, boolean accumulate) {
        if (aStride < TILE_ROWS) throw new IllegalArgumentException("A's stride " + aStride + " under the tile's " + TILE_ROWS + " rows");
        checkFromIndexSize(cOff, TILE_ROWS * 2 * L, c.length);
        float[] init = accumulate ? c : ZEROS;
        int initOff = accumulate ? cOff : 0;
        if (WIDE) tile8x2(a, aOff, aStride, kLen, b, rowOff, col, init, initOff, c, cOff);
        else tile5x2(a, aOff, aStride, kLen, b, rowOff, col, init, initOff, c, cOff);
    }

    /** The arguments {@link #tile} and {@link #tileTaps} check before a kernel runs (its vector accesses are unchecked). */
    private void checkTile(int aStride, float[] c, int cOff, int ldc, int rows, float[] mask, int maskOff, float[] t) {
        if (rows < 1 || rows > TILE_ROWS || aStride < packRows(rows)) {
            throw new IllegalArgumentException(rows + " rows of a " + TILE_ROWS + "-row tile, A's stride " + aStride);
        }
        checkFromIndexSize(0, TILE_ROWS * 2 * L, t.length);
        checkFromIndexSize(cOff, (rows - 1) * ldc + 2 * L, c.length);
        if (mask != null) checkFromIndexSize(maskOff, 2 * L, mask.length);
    }

    /** Rows 0-3 of a tile whose A is packed {@code stride} rows per k. */
    private static void tile4x2(float[] a, int aOff, int stride, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0, ai = aOff; k < kLen; k++, ai += stride) {
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
        c20.intoArray(t, 4 * L);
        c21.intoArray(t, 5 * L);
        c30.intoArray(t, 6 * L);
        c31.intoArray(t, 7 * L);
    }

    /** Rows 0-1 of a tile whose A is packed {@code stride} rows per k. */
    private static void tile2x2(float[] a, int aOff, int stride, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0, ai = aOff; k < kLen; k++, ai += stride) {
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
    }

    /**
     * The 8 x 2L micro-kernel: per k, two loads of B, eight broadcasts of A, sixteen FMAs. The
     * accumulators start from init[initOff ..] ({@link #ZEROS} for a plain product, C itself for
     * {@link #tileInto}) and end in t[tOff ..], row r's 2L floats at 2rL.
     */
    private static void tile8x2(float[] a, int aOff, int stride, int kLen, float[] b, int[] rowOff, int col, float[] init, int initOff,
                                float[] t, int tOff) {
        FloatVector c00 = FloatVector.fromArray(S, init, initOff), c01 = FloatVector.fromArray(S, init, initOff + L);
        FloatVector c10 = FloatVector.fromArray(S, init, initOff + 2 * L), c11 = FloatVector.fromArray(S, init, initOff + 3 * L);
        FloatVector c20 = FloatVector.fromArray(S, init, initOff + 4 * L), c21 = FloatVector.fromArray(S, init, initOff + 5 * L);
        FloatVector c30 = FloatVector.fromArray(S, init, initOff + 6 * L), c31 = FloatVector.fromArray(S, init, initOff + 7 * L);
        FloatVector c40 = FloatVector.fromArray(S, init, initOff + 8 * L), c41 = FloatVector.fromArray(S, init, initOff + 9 * L);
        FloatVector c50 = FloatVector.fromArray(S, init, initOff + 10 * L), c51 = FloatVector.fromArray(S, init, initOff + 11 * L);
        FloatVector c60 = FloatVector.fromArray(S, init, initOff + 12 * L), c61 = FloatVector.fromArray(S, init, initOff + 13 * L);
        FloatVector c70 = FloatVector.fromArray(S, init, initOff + 14 * L), c71 = FloatVector.fromArray(S, init, initOff + 15 * L);
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0, ai = aOff; k < kLen; k++, ai += stride) {
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        // straight-line stores into the scratch tile, the rest in a separate loop: an epilogue with
        // branches on vectors here would push C2 past its inlining node budget and box them all
        c00.intoArray(t, tOff);
        c01.intoArray(t, tOff + L);
        c10.intoArray(t, tOff + 2 * L);
        c11.intoArray(t, tOff + 3 * L);
        c20.intoArray(t, tOff + 4 * L);
        c21.intoArray(t, tOff + 5 * L);
        c30.intoArray(t, tOff + 6 * L);
        c31.intoArray(t, tOff + 7 * L);
        c40.intoArray(t, tOff + 8 * L);
        c41.intoArray(t, tOff + 9 * L);
        c50.intoArray(t, tOff + 10 * L);
        c51.intoArray(t, tOff + 11 * L);
        c60.intoArray(t, tOff + 12 * L);
        c61.intoArray(t, tOff + 13 * L);
        c70.intoArray(t, tOff + 14 * L);
        c71.intoArray(t, tOff + 15 * L);
    }

    /**
     * Rows 0-5 of a wide tile (the 8 x 2L tile's ragged remainder): per k, two loads of B, six
     * broadcasts, twelve FMAs. A is packed {@code stride} (8) rows per k. Not the AVX2 tile: see above.
     */
    private static void tile6x2(float[] a, int aOff, int stride, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0, ai = aOff; k < kLen; k++, ai += stride) {
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
        c20.intoArray(t, 4 * L);
        c21.intoArray(t, 5 * L);
        c30.intoArray(t, 6 * L);
        c31.intoArray(t, 7 * L);
        c40.intoArray(t, 8 * L);
        c41.intoArray(t, 9 * L);
        c50.intoArray(t, 10 * L);
        c51.intoArray(t, 11 * L);
    }

    /** The AVX2 tile of 5 rows: per k, two loads of B, five broadcasts, ten FMAs (13 of the 16 registers); init and t as {@link #tile8x2}'s. */
    private static void tile5x2(float[] a, int aOff, int stride, int kLen, float[] b, int[] rowOff, int col, float[] init, int initOff,
                                float[] t, int tOff) {
        FloatVector c00 = FloatVector.fromArray(S, init, initOff), c01 = FloatVector.fromArray(S, init, initOff + L);
        FloatVector c10 = FloatVector.fromArray(S, init, initOff + 2 * L), c11 = FloatVector.fromArray(S, init, initOff + 3 * L);
        FloatVector c20 = FloatVector.fromArray(S, init, initOff + 4 * L), c21 = FloatVector.fromArray(S, init, initOff + 5 * L);
        FloatVector c30 = FloatVector.fromArray(S, init, initOff + 6 * L), c31 = FloatVector.fromArray(S, init, initOff + 7 * L);
        FloatVector c40 = FloatVector.fromArray(S, init, initOff + 8 * L), c41 = FloatVector.fromArray(S, init, initOff + 9 * L);
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0, ai = aOff; k < kLen; k++, ai += stride) {
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
        }
        c00.intoArray(t, tOff);
        c01.intoArray(t, tOff + L);
        c10.intoArray(t, tOff + 2 * L);
        c11.intoArray(t, tOff + 3 * L);
        c20.intoArray(t, tOff + 4 * L);
        c21.intoArray(t, tOff + 5 * L);
        c30.intoArray(t, tOff + 6 * L);
        c31.intoArray(t, tOff + 7 * L);
        c40.intoArray(t, tOff + 8 * L);
        c41.intoArray(t, tOff + 9 * L);
    }

    /**
     * {@link #tile} over the rows aTap[k] of A's packing, a subset in order: one method per row count,
     * as there, each the plain kernel's twin but for how it finds A's row. One kernel per row count
     * for both, with a null list for the plain case ({@code ai = aTap == null ? next : ...}, a test
     * C2 may lift out of the loop), measured slower (ConvTiming, 2 pairs each, fifteenth sitting):
     * natively 256 -> 256 @4 forward 15.9 -> 16.5-16.9 ms, weight gradient 17.1-17.4 -> 18.9-19.0,
     * strided 256 -> 512 data gradient 43.0-47.0 -> 50.1-54.6; with AVX2 weight gradients 3-10% slower.
     */
    @Override
    public void tileTaps(float[] a, int aOff, int aStride, int[] aTap, int kLen, float[] b, int[] rowOff, int col,
                         float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff, float[] t) {
        checkTile(aStride, c, cOff, ldc, rows, mask, maskOff, t);
        switch (packRows(rows)) {
            case 2 -> tile2x2Taps(a, aOff, aStride, aTap, kLen, b, rowOff, col, t);
            case 4 -> tile4x2Taps(a, aOff, aStride, aTap, kLen, b, rowOff, col, t);
            case 5 -> tile5x2Taps(a, aOff, aStride, aTap, kLen, b, rowOff, col, t);
            case 6 -> tile6x2Taps(a, aOff, aStride, aTap, kLen, b, rowOff, col, t);
            default -> tile8x2Taps(a, aOff, aStride, aTap, kLen, b, rowOff, col, t);
        }
        epilogue(t, c, cOff, ldc, rows, accumulate, mask, maskOff);
    }

    private static void tile2x2Taps(float[] a, int aOff, int stride, int[] aTap, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0; k < kLen; k++) {
            int ai = aOff + aTap[k] * stride;
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
    }

    private static void tile4x2Taps(float[] a, int aOff, int stride, int[] aTap, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0; k < kLen; k++) {
            int ai = aOff + aTap[k] * stride;
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
        c20.intoArray(t, 4 * L);
        c21.intoArray(t, 5 * L);
        c30.intoArray(t, 6 * L);
        c31.intoArray(t, 7 * L);
    }

    private static void tile5x2Taps(float[] a, int aOff, int stride, int[] aTap, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0; k < kLen; k++) {
            int ai = aOff + aTap[k] * stride;
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
        c20.intoArray(t, 4 * L);
        c21.intoArray(t, 5 * L);
        c30.intoArray(t, 6 * L);
        c31.intoArray(t, 7 * L);
        c40.intoArray(t, 8 * L);
        c41.intoArray(t, 9 * L);
    }

    private static void tile6x2Taps(float[] a, int aOff, int stride, int[] aTap, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0; k < kLen; k++) {
            int ai = aOff + aTap[k] * stride;
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
        c20.intoArray(t, 4 * L);
        c21.intoArray(t, 5 * L);
        c30.intoArray(t, 6 * L);
        c31.intoArray(t, 7 * L);
        c40.intoArray(t, 8 * L);
        c41.intoArray(t, 9 * L);
        c50.intoArray(t, 10 * L);
        c51.intoArray(t, 11 * L);
    }

    private static void tile8x2Taps(float[] a, int aOff, int stride, int[] aTap, int kLen, float[] b, int[] rowOff, int col, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        int bLimit = b.length - 2 * L + 1;
        for (int k = 0; k < kLen; k++) {
            int ai = aOff + aTap[k] * stride;
            int bi = checkIndex(rowOff[k] + col, bLimit); // both loads: [bi, bi + 2L)
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            FloatVector av = FloatVector.broadcast(S, a[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ai + 6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ai + 7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        c00.intoArray(t, 0);
        c01.intoArray(t, L);
        c10.intoArray(t, 2 * L);
        c11.intoArray(t, 3 * L);
        c20.intoArray(t, 4 * L);
        c21.intoArray(t, 5 * L);
        c30.intoArray(t, 6 * L);
        c31.intoArray(t, 7 * L);
        c40.intoArray(t, 8 * L);
        c41.intoArray(t, 9 * L);
        c50.intoArray(t, 10 * L);
        c51.intoArray(t, 11 * L);
        c60.intoArray(t, 12 * L);
        c61.intoArray(t, 13 * L);
        c70.intoArray(t, 14 * L);
        c71.intoArray(t, 15 * L);
    }

    /**
     * c rows (+)= the scratch tile, times the mask. One loop per case, with no vector chosen by a
     * branch: C2 boxes a vector that two paths merge (64 bytes a call, a young GC every few steps).
     */
    private static void epilogue(float[] t, float[] c, int cOff, int ldc, int rows, boolean accumulate, float[] mask, int maskOff) {
        if (mask == null) {
            if (accumulate) addRows(t, c, cOff, ldc, rows);
            else setRows(t, c, cOff, ldc, rows);
        } else {
            if (accumulate) addRowsMasked(t, c, cOff, ldc, rows, mask, maskOff);
            else setRowsMasked(t, c, cOff, ldc, rows, mask, maskOff);
        }
    }

    private static void setRows(float[] t, float[] c, int cOff, int ldc, int rows) {
        for (int r = 0; r < rows; r++) {
            int at = cOff + r * ldc;
            FloatVector.fromArray(S, t, 2 * r * L).intoArray(c, at);
            FloatVector.fromArray(S, t, (2 * r + 1) * L).intoArray(c, at + L);
        }
    }

    private static void addRows(float[] t, float[] c, int cOff, int ldc, int rows) {
        for (int r = 0; r < rows; r++) {
            int at = cOff + r * ldc;
            FloatVector.fromArray(S, t, 2 * r * L).add(FloatVector.fromArray(S, c, at)).intoArray(c, at);
            FloatVector.fromArray(S, t, (2 * r + 1) * L).add(FloatVector.fromArray(S, c, at + L)).intoArray(c, at + L);
        }
    }

    private static void setRowsMasked(float[] t, float[] c, int cOff, int ldc, int rows, float[] mask, int maskOff) {
        FloatVector m0 = FloatVector.fromArray(S, mask, maskOff), m1 = FloatVector.fromArray(S, mask, maskOff + L);
        for (int r = 0; r < rows; r++) {
            int at = cOff + r * ldc;
            FloatVector.fromArray(S, t, 2 * r * L).mul(m0).intoArray(c, at);
            FloatVector.fromArray(S, t, (2 * r + 1) * L).mul(m1).intoArray(c, at + L);
        }
    }

    private static void addRowsMasked(float[] t, float[] c, int cOff, int ldc, int rows, float[] mask, int maskOff) {
        FloatVector m0 = FloatVector.fromArray(S, mask, maskOff), m1 = FloatVector.fromArray(S, mask, maskOff + L);
        for (int r = 0; r < rows; r++) {
            int at = cOff + r * ldc;
            FloatVector.fromArray(S, t, 2 * r * L).add(FloatVector.fromArray(S, c, at)).mul(m0).intoArray(c, at);
            FloatVector.fromArray(S, t, (2 * r + 1) * L).add(FloatVector.fromArray(S, c, at + L)).mul(m1).intoArray(c, at + L);
        }
    }

    @Override
    public void addTile(float[] t, float[] c, int cOff, int ldc, int rows, boolean subtract) {
        if (rows < 1 || rows > TILE_ROWS) throw new IllegalArgumentException(rows + " rows of a " + TILE_ROWS + "-row tile");
        checkFromIndexSize(0, rows * 2 * L, t.length);
        checkFromIndexSize(cOff, (rows - 1) * ldc + 2 * L, c.length);
        if (subtract) {
            for (int r = 0; r < rows; r++) {
                int at = cOff + r * ldc;
                FloatVector.fromArray(S, c, at).sub(FloatVector.fromArray(S, t, 2 * r * L)).intoArray(c, at);
                FloatVector.fromArray(S, c, at + L).sub(FloatVector.fromArray(S, t, (2 * r + 1) * L)).intoArray(c, at + L);
            }
        } else {
            addRows(t, c, cOff, ldc, rows);
        }
    }

    @Override
    public void dot4x4(float[] a, int a0, int a1, int a2, int a3, float[] b, int b0, int b1, int b2, int b3,
                       int len, float[] out, int outOff, float[] t) {
        FloatVector z = FloatVector.zero(S);
        FloatVector s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z;
        FloatVector s20 = z, s21 = z, s22 = z, s23 = z, s30 = z, s31 = z, s32 = z, s33 = z;
        checkRows(a0, a1, a2, a3, len, a.length);
        checkRows(b0, b1, b2, b3, len, b.length);
        checkFromIndexSize(0, 16 * L, t.length);
        int p = 0;
        for (; p <= len - L; p += L) {
            FloatVector y0 = FloatVector.fromArray(S, b, b0 + p);
            FloatVector y1 = FloatVector.fromArray(S, b, b1 + p);
            FloatVector y2 = FloatVector.fromArray(S, b, b2 + p);
            FloatVector y3 = FloatVector.fromArray(S, b, b3 + p);
            FloatVector x = FloatVector.fromArray(S, a, a0 + p);
            s00 = x.fma(y0, s00);
            s01 = x.fma(y1, s01);
            s02 = x.fma(y2, s02);
            s03 = x.fma(y3, s03);
            x = FloatVector.fromArray(S, a, a1 + p);
            s10 = x.fma(y0, s10);
            s11 = x.fma(y1, s11);
            s12 = x.fma(y2, s12);
            s13 = x.fma(y3, s13);
            x = FloatVector.fromArray(S, a, a2 + p);
            s20 = x.fma(y0, s20);
            s21 = x.fma(y1, s21);
            s22 = x.fma(y2, s22);
            s23 = x.fma(y3, s23);
            x = FloatVector.fromArray(S, a, a3 + p);
            s30 = x.fma(y0, s30);
            s31 = x.fma(y1, s31);
            s32 = x.fma(y2, s32);
            s33 = x.fma(y3, s33);
        }
        s00.intoArray(t, 0 * L);
        s01.intoArray(t, 1 * L);
        s02.intoArray(t, 2 * L);
        s03.intoArray(t, 3 * L);
        s10.intoArray(t, 4 * L);
        s11.intoArray(t, 5 * L);
        s12.intoArray(t, 6 * L);
        s13.intoArray(t, 7 * L);
        s20.intoArray(t, 8 * L);
        s21.intoArray(t, 9 * L);
        s22.intoArray(t, 10 * L);
        s23.intoArray(t, 11 * L);
        s30.intoArray(t, 12 * L);
        s31.intoArray(t, 13 * L);
        s32.intoArray(t, 14 * L);
        s33.intoArray(t, 15 * L);
        // straight-line stores, then each sum in lane order: reductions written out here would push C2
        // past its node budget and box every vector of the loop above
        for (int i = 0; i < 16; i++) {
            double sum = 0;
            for (int j = 0; j < L; j++) sum += t[i * L + j];
            out[outOff + i] += (float) sum;
        }
        for (; p < len; p++) { // the tail that does not fill a vector
            float x0 = a[a0 + p], x1 = a[a1 + p], x2 = a[a2 + p], x3 = a[a3 + p];
            float y0 = b[b0 + p], y1 = b[b1 + p], y2 = b[b2 + p], y3 = b[b3 + p];
            out[outOff] += x0 * y0;
            out[outOff + 1] += x0 * y1;
            out[outOff + 2] += x0 * y2;
            out[outOff + 3] += x0 * y3;
            out[outOff + 4] += x1 * y0;
            out[outOff + 5] += x1 * y1;
            out[outOff + 6] += x1 * y2;
            out[outOff + 7] += x1 * y3;
            out[outOff + 8] += x2 * y0;
            out[outOff + 9] += x2 * y1;
            out[outOff + 10] += x2 * y2;
            out[outOff + 11] += x2 * y3;
            out[outOff + 12] += x3 * y0;
            out[outOff + 13] += x3 * y1;
            out[outOff + 14] += x3 * y2;
            out[outOff + 15] += x3 * y3;
        }
    }

    /** Four rows of len floats starting at r0..r3 lie within an array of {@code length}. */
    private static void checkRows(int r0, int r1, int r2, int r3, int len, int length) {
        checkFromIndexSize(r0, len, length);
        checkFromIndexSize(r1, len, length);
        checkFromIndexSize(r2, len, length);
        checkFromIndexSize(r3, len, length);
    }

    /**
     * Per position, L channels at a time by one gather (vgatherdps), the rest one by one. A scalar
     * move is an index, a bounds check, a load and a store; on the Sapphire Rapids VM, one core, rows
     * in L3, 0.77 ns a float that way against 0.46 gathered, AVX-512 and AVX2 alike (the 32- and
     * 64-channel weight gradients 15-18% faster, docs/performance.md, eighteenth sitting). The Vector API's own index
     * checks are off (see the class comment), so every source index is checked here: a position's
     * channels span [from, from + (channels-1)*srcLd].
     */
    @Override
    public void transpose(float[] src, int srcOff, int srcLd, int channels, int[] at, int atOff, int count, float[] dst, int dstOff, int ldd) {
        if (count <= 0 || channels <= 0) return;
        checkFromIndexSize(dstOff, (count - 1) * ldd + channels, dst.length);
        if (at != null) checkFromIndexSize(atOff, count, at.length);
        long reach = (long) (channels - 1) * srcLd; // from the channel 0 element to the last channel's
        if (srcLd < 0 || reach > src.length) throw new IndexOutOfBoundsException("rows " + srcLd + " apart in " + src.length);
        boolean gathers = srcLd > 0 && reach + L * (long) srcLd < Integer.MAX_VALUE;
        if (gathers && 2 * channels == L && ldd == channels) {
            transposePairs(src, srcOff, srcLd, channels, at, atOff, count, dst, dstOff, (int) reach);
            return;
        }
        int vectors = gathers ? channels / L * L : 0;
        int[] rowStart = vectors > 0 ? rowOffsets(srcLd) : null;
        for (int i = 0; i < count; i++) {
            int from = srcOff + (at == null ? i : at[atOff + i]), to = dstOff + i * ldd;
            checkFromIndexSize(from, (int) reach + 1, src.length);
            int c = 0;
            for (; c < vectors; c += L) FloatVector.fromArray(S, src, from + c * srcLd, rowStart, 0).intoArray(dst, to + c);
            copyColumn(src, from, srcLd, c, channels, dst, to);
        }
    }

    /** dst[to + c] = src[from + c*srcLd] for c in [c0, c1): one position's channels, one by one. */
    private static void copyColumn(float[] src, int from, int srcLd, int c0, int c1, float[] dst, int to) {
        for (int c = c0; c < c1; c++) dst[to + c] = src[from + c * srcLd];
    }

    /**
     * L elements a gather; each vector of indexes is checked against src's bounds first (a compare
     * and a test per L elements), since the Vector API's own check is off.
     */
    @Override
    public void gather(float[] src, int srcOff, int[] index, int indexOff, int count, float[] dst, int dstOff) {
        if (count <= 0) return;
        checkFromIndexSize(indexOff, count, index.length);
        checkFromIndexSize(dstOff, count, dst.length);
        int low = -srcOff, high = src.length - srcOff; // index[i] must lie in [low, high)
        int i = 0;
        for (; i <= count - L; i += L) {
            IntVector at = IntVector.fromArray(IS, index, indexOff + i);
            if (at.compare(VectorOperators.LT, low).or(at.compare(VectorOperators.GE, high)).anyTrue()) {
                throw new IndexOutOfBoundsException("gather index beyond " + src.length + " floats");
            }
            FloatVector.fromArray(S, src, srcOff, index, indexOff + i).intoArray(dst, dstOff + i);
        }
        for (; i < count; i++) dst[dstOff + i] = src[srcOff + index[indexOff + i]];
    }

    @Override
    public void gatherRows(float[] src, int[] rowFrom, int rows, int[] index, int indexOff, int count, float[] dst, int dstOff, int ldd) {
        if (count <= 0 || rows <= 0) return;
        if (ldd < 0) throw new IllegalArgumentException("row stride " + ldd);
        checkFromIndexSize(0, rows, rowFrom.length);
        checkFromIndexSize(indexOff, count, index.length);
        checkFromIndexSize(dstOff, (long) (rows - 1) * ldd + count, dst.length);
        int least = Integer.MAX_VALUE, greatest = Integer.MIN_VALUE;
        for (int i = indexOff; i < indexOff + count; i++) {
            least = Math.min(least, index[i]);
            greatest = Math.max(greatest, index[i]);
        }
        for (int r = 0; r < rows; r++) { // every element a row reads lies in src
            if ((long) rowFrom[r] + least < 0 || (long) rowFrom[r] + greatest >= src.length) {
                throw new IndexOutOfBoundsException("gather row " + r + " reaches beyond " + src.length + " floats");
            }
        }
        for (int r = 0; r < rows; r++) {
            int from = rowFrom[r], to = dstOff + r * ldd, i = 0;
            for (; i <= count - L; i += L) FloatVector.fromArray(S, src, from, index, indexOff + i).intoArray(dst, to + i);
            for (; i < count; i++) dst[to + i] = src[from + index[indexOff + i]];
        }
    }

    /**
     * {@link #transpose} of L/2 channels into rows of L/2 (a packed dY tile of 8 rows on AVX-512, 4
     * on AVX2): two positions a gather where they are neighbours (offsets {0, ld, .., 0 + 1, ld + 1,
     * ..}), one by one where a run of positions breaks. The caller checked dst, at and reach.
     */
    private static void transposePairs(float[] src, int srcOff, int srcLd, int channels, int[] at, int atOff, int count, float[] dst,
                                       int dstOff, int reach) {
        int[] pair = new int[L];
        for (int r = 0; r < channels; r++) {
            pair[r] = r * srcLd;
            pair[channels + r] = r * srcLd + 1;
        }
        int i = 0;
        for (; i + 1 < count; i += 2) {
            int from = srcOff + (at == null ? i : at[atOff + i]), next = srcOff + (at == null ? i + 1 : at[atOff + i + 1]);
            int to = dstOff + i * channels;
            checkFromIndexSize(from, reach + 1, src.length);
            checkFromIndexSize(next, reach + 1, src.length);
            if (next == from + 1) {
                FloatVector.fromArray(S, src, from, pair, 0).intoArray(dst, to);
            } else {
                copyColumn(src, from, srcLd, 0, channels, dst, to);
                copyColumn(src, next, srcLd, 0, channels, dst, to + channels);
            }
        }
        if (i < count) { // an odd count's last position
            int from = srcOff + (at == null ? i : at[atOff + i]);
            checkFromIndexSize(from, reach + 1, src.length);
            copyColumn(src, from, srcLd, 0, channels, dst, dstOff + i * channels);
        }
    }

    /** {0, ld, 2 ld, ...}: a gather's offsets of L rows ld apart. */
    private static int[] rowOffsets(int ld) {
        int[] r = new int[L];
        for (int i = 0; i < L; i++) r[i] = i * ld;
        return r;
    }

    @Override
    public double sum(float[] x, int off, int len) {
        checkFromIndexSize(off, len, x.length);
        double total = 0;
        int i = 0;
        while (i <= len - L) {
            int end = Math.min(len - L, i + FLUSH);
            FloatVector acc = FloatVector.zero(S);
            for (; i <= end; i += L) acc = acc.add(FloatVector.fromArray(S, x, off + i));
            total += laneSum(acc);
        }
        for (; i < len; i++) total += x[off + i];
        return total;
    }

    @Override
    public void shiftedSums(float[] x, int off, int len, float shift, float[] mask, int maskOff, double[] sums) {
        checkFromIndexSize(off, len, x.length);
        checkFromIndexSize(maskOff, len, mask.length);
        double s1 = 0, s2 = 0;
        FloatVector m = FloatVector.broadcast(S, shift);
        int i = 0;
        while (i <= len - L) {
            int end = Math.min(len - L, i + FLUSH);
            FloatVector acc1 = FloatVector.zero(S), acc2 = FloatVector.zero(S);
            for (; i <= end; i += L) {
                FloatVector d = FloatVector.fromArray(S, x, off + i).sub(m).mul(FloatVector.fromArray(S, mask, maskOff + i));
                acc1 = acc1.add(d);
                acc2 = d.fma(d, acc2);
            }
            s1 += laneSum(acc1);
            s2 += laneSum(acc2);
        }
        for (; i < len; i++) {
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
        checkFromIndexSize(xOff, len, x.length);
        if (res != null) checkFromIndexSize(resOff, len, res.length);
        checkFromIndexSize(maskOff, len, mask.length);
        checkFromIndexSize(yOff, len, y.length);
        FloatVector sc = FloatVector.broadcast(S, scale), sh = FloatVector.broadcast(S, shift);
        FloatVector zero = FloatVector.zero(S);
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xOff + i).fma(sc, sh);
            if (res != null) v = v.add(FloatVector.fromArray(S, res, resOff + i));
            if (relu) v = v.max(zero);
            v.mul(FloatVector.fromArray(S, mask, maskOff + i)).intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            float v = x[xOff + i] * scale + shift;
            if (res != null) v += res[resOff + i];
            if (relu) v = Math.max(v, 0f);
            y[yOff + i] = v * mask[maskOff + i];
        }
    }

    @Override
    public void reluGradSums(float[] dy, float[] y, float[] x, int off, int len, float mean, float[] dz, double[] sums) {
        checkFromIndexSize(off, len, dy.length);
        if (y != null) checkFromIndexSize(off, len, y.length);
        checkFromIndexSize(off, len, x.length);
        checkFromIndexSize(off, len, dz.length);
        double sumDz = 0, sumDzX = 0;
        FloatVector m = FloatVector.broadcast(S, mean), zero = FloatVector.zero(S);
        int i = 0;
        while (i <= len - L) {
            int end = Math.min(len - L, i + FLUSH);
            FloatVector accDz = zero, accDzX = zero;
            for (; i <= end; i += L) {
                FloatVector d = FloatVector.fromArray(S, dy, off + i);
                if (y != null) d = d.blend(zero, FloatVector.fromArray(S, y, off + i).compare(VectorOperators.LE, 0f));
                d.intoArray(dz, off + i);
                accDz = accDz.add(d);
                accDzX = d.fma(FloatVector.fromArray(S, x, off + i).sub(m), accDzX);
            }
            sumDz += laneSum(accDz);
            sumDzX += laneSum(accDzX);
        }
        for (; i < len; i++) {
            int at = off + i;
            float d = (y == null || y[at] > 0) ? dy[at] : 0f;
            dz[at] = d;
            sumDz += d;
            sumDzX += d * (x[at] - mean);
        }
        sums[0] = sumDz;
        sums[1] = sumDzX;
    }

    @Override
    public void bnInputGrad(float[] dz, float[] x, int off, int len, float mean, float a, float b, float c,
                            float[] mask, int maskOff, float[] dx, int dxOff) {
        checkFromIndexSize(off, len, dz.length);
        checkFromIndexSize(off, len, x.length);
        checkFromIndexSize(maskOff, len, mask.length);
        checkFromIndexSize(dxOff, len, dx.length);
        FloatVector va = FloatVector.broadcast(S, a), vb = FloatVector.broadcast(S, b);
        FloatVector vc = FloatVector.broadcast(S, c), m = FloatVector.broadcast(S, mean);
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, off + i).sub(m).fma(vc, vb);
            v = FloatVector.fromArray(S, dz, off + i).fma(va, v);
            v.mul(FloatVector.fromArray(S, mask, maskOff + i)).intoArray(dx, dxOff + i);
        }
        for (; i < len; i++) {
            dx[dxOff + i] = (a * dz[off + i] + c * (x[off + i] - mean) + b) * mask[maskOff + i];
        }
    }

    @Override
    public double expShifted(float[] x, int xOff, int len, float max, float[] y, int yOff) {
        checkFromIndexSize(xOff, len, x.length);
        checkFromIndexSize(yOff, len, y.length);
        FloatVector m = FloatVector.broadcast(S, max), acc = FloatVector.zero(S);
        double total = 0;
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, x, xOff + i).sub(m));
            e.intoArray(y, yOff + i);
            acc = acc.add(e);
        }
        total += laneSum(acc);
        for (; i < len; i++) {
            float e = ScalarKernels.exp(x[xOff + i] - max);
            y[yOff + i] = e;
            total += e;
        }
        return total;
    }

    @Override
    public float max(float[] x, int off, int len) {
        checkFromIndexSize(off, len, x.length);
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= len - L; i += L) acc = acc.max(FloatVector.fromArray(S, x, off + i));
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < len; i++) m = Math.max(m, x[off + i]);
        return m;
    }
    /** Rotations by 8, 4, 2 and 1 lanes (modulo L): the steps of {@link #laneSum}'s tree. */
    private static final VectorShuffle<Float> FOLD8 = VectorShuffle.iota(S, 8 % L, 1, true), FOLD4 = VectorShuffle.iota(S, 4 % L, 1, true),
            FOLD2 = VectorShuffle.iota(S, 2, 1, true), FOLD1 = VectorShuffle.iota(S, 1, 1, true);

    /**
     * The lanes of v added in one fixed tree (halves, then quarters, ...), as float: lane 0 of the
     * result. Not {@code reduceLanes(ADD)}: the Vector API leaves its order open, and the
     * interpreter's fallback (lane by lane) and C2's intrinsic (a tree on newer JDKs) differ, so a
     * result would depend on whether the method had been compiled yet: runs of the same command
     * would not agree bit for bit. Written out without a loop so that C2 keeps it in registers.
     */
    static double laneSum(FloatVector v) {
        if (L >= 16) v = v.add(v.rearrange(FOLD8));
        if (L >= 8) v = v.add(v.rearrange(FOLD4));
        v = v.add(v.rearrange(FOLD2));
        v = v.add(v.rearrange(FOLD1));
        return v.lane(0);
    }

    private static final FloatVector LOG2E = FloatVector.broadcast(S, ScalarKernels.LOG2E);
    private static final FloatVector ROUND = FloatVector.broadcast(S, ScalarKernels.EXP_ROUND);
    private static final FloatVector LN2_HI = FloatVector.broadcast(S, ScalarKernels.LN2_HI);
    private static final FloatVector LN2_LO = FloatVector.broadcast(S, ScalarKernels.LN2_LO);
    private static final FloatVector EXP_MIN = FloatVector.broadcast(S, ScalarKernels.EXP_MIN);

    /**
     * e^x for x <= 0 (a softmax's shifted logits), as {@link ScalarKernels#exp}: lane for lane the
     * same IEEE operations in the same order, so the vector and scalar paths agree bit for bit,
     * compiled or not. Not {@code lanewise(EXP)}, whose intrinsic (SVML) and fallback
     * ({@code Math.exp}) round differently.
     */
    static FloatVector exp(FloatVector input) {
        FloatVector x = input.max(EXP_MIN);
        FloatVector shifted = x.fma(LOG2E, ROUND); // n = round(x log2 e) in the low mantissa bits
        FloatVector n = shifted.sub(ROUND);
        FloatVector r = n.neg().fma(LN2_HI, x);
        r = n.neg().fma(LN2_LO, r);
        FloatVector p = FloatVector.broadcast(S, ScalarKernels.EXP_C[0]);
        for (int i = 1; i < ScalarKernels.EXP_C.length; i++) p = p.fma(r, FloatVector.broadcast(S, ScalarKernels.EXP_C[i]));
        // 2^n: n (in -127..0) into the exponent field
        var bits = shifted.reinterpretAsInts().sub(ScalarKernels.EXP_ROUND_BITS).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.reinterpretAsInts().add(bits).reinterpretAsFloats();
        return e.blend(0f, input.compare(VectorOperators.LE, ScalarKernels.EXP_MIN)).blend(input, input.test(VectorOperators.IS_NAN));
    }
}
