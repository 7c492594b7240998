package mocoref.cpu;

import mocoref.parallel.WorkerPool;

/**
 * A 3x3, stride-1, padding-1 convolution's product by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): the forward
 * (x into y with W) and, with W's transpose turned by 180 degrees, the data gradient (dY into dX).
 *
 * <p>Each 2x2 block of an output channel (a tile) is {@code A^T [sum_c (G g G^T) * (B^T d B)] A}
 * with d the 4x4 input patch of channel c around it (its padding read from the layout's zero border)
 * and g the 3x3 filter from c: the 16 points of the transformed tiles are 16 independent products
 * {@code M[xi] = U[xi] V[xi]}, U[xi] [rows][channels] from the filters, V[xi] [channels][tiles] from
 * the input, each on the micro-kernel. A tile takes 16 multiply-adds per channel pair where the
 * direct product takes 36 (4 outputs by 9 taps): 2.25 times fewer, more than that where the direct
 * product computes the layout's border positions too (at 14x14 the layout has 225 positions per 196
 * outputs). The transforms cost a few adds per input value and per output value, paid once for
 * all the rows and channels they serve.
 *
 * <p>Numbers: G has entries 0, 1/2 and 1, B and A entries 0 and +-1, so the transforms only add
 * and halve; an output differs from the direct sum by float32 rounding of a few more terms (each
 * output is a sum of 9 M values with signs, each M a sum over channels). The results are checked
 * against the float64 reference convolution at {@code 1e-5 + 1e-4 |ref|} (WinogradTest) like every
 * other path. Every output's sums run in one fixed order for any thread count: deterministic.
 *
 * <p>Tiles run in tasks of {@link #taskTiles} tiles: a task transforms its tiles' patches of every
 * channel into V [16][channels][taskTiles], then per point xi and tile of output rows multiplies
 * U[xi]'s packed rows with V[xi] (which stays in L1/L2 across all the row tiles) and adds each
 * result, with the output transform's sign, into its tiles' four outputs [rows][4][taskTiles];
 * last it stores (or adds) the outputs where they lie in the layout. Tiles that reach past an
 * image of odd size compute a row or column beyond it that is not stored: the patch's fourth row
 * (column) reaches only the tile's second output row (column), so what it reads there (the next
 * image's first row) changes nothing stored.
 */
final class Winograd {
    /** Points of a transformed tile (4x4). */
    private static final int POINTS = 16;
    /** A^T of F(2x2, 3x3): output o1 of a tile's row (column) from points a: [[1, 1, 1, 0], [0, 1, -1, -1]]. */
    private static final int[][] AT = {{1, 1, 1, 0}, {0, 1, -1, -1}};
    /**
     * Per point xi = 4a + b and output o = 2 o1 + o2, the sign A^T[o1][a] * A^T[o2][b] with which
     * M[xi] adds to output o; for the four points whose every sign is -1 (a or b 3 with the other
     * 0 or 1), U[xi] is packed negated ({@link #NEGATED}) and the signs flip, so that every point
     * has an output it adds to with +1: the micro-kernel adds it there itself, and the others
     * from its scratch. Negation is exact, so the sums are those of subtracting.
     */
    private static final int[][] SIGN = new int[POINTS][4];
    private static final boolean[] NEGATED = new boolean[POINTS];
    /** Per point, the first output it adds to with +1. */
    private static final int[] FIRST = new int[POINTS];

    static {
        for (int xi = 0; xi < POINTS; xi++) {
            for (int o = 0; o < 4; o++) SIGN[xi][o] = AT[o / 2][xi / 4] * AT[o % 2][xi % 4];
            NEGATED[xi] = SIGN[xi][0] <= 0 && SIGN[xi][1] <= 0 && SIGN[xi][2] <= 0 && SIGN[xi][3] <= 0;
            for (int o = 0; o < 4; o++) if (NEGATED[xi]) SIGN[xi][o] = -SIGN[xi][o];
            int first = 0;
            while (SIGN[xi][first] <= 0) first++;
            FIRST[xi] = first;
        }
    }

    private final Plane plane;
    private final int channels, rows;
    private final Kernels kernels;
    private final WorkerPool pool;
    private final CpuDevice device;
    private final int nr;
    private final RowTiles rowTiles;
    /** Floats of one point's packed U (all row tiles). */
    private final int pointStride;
    /** Tiles: real ones, per task, tasks. */
    private final int tiles, taskTiles, tasks;
    /** Per tile (padded to whole tasks with the last real one): its patch's first position, its first output's, and which of its outputs lie in the image (bit 0: second column, bit 1: second row). */
    private final int[] patchAt, outputAt;
    private final byte[] shape;
    /**
     * V's layout: channel c's row of point xi at xi * vPoint + c * vRowLength, and the outputs' row
     * (k, o) at (4k + o) * vRowLength: each an odd number of 64-byte lines long, so that the 16
     * points' rows the input transform writes at once, and the channel rows a tile reads at once,
     * fall into different L1 sets (rows a power-of-two multiple of 4 KB apart share one set: with
     * taskTiles floats a row, the transform ran 3 times slower).
     */
    private final int vRowLength, vPoint;
    /** V's row offsets for the micro-kernel: channel c at c * vRowLength. */
    private final int[] vRow;
    /** The output's border positions below n * imageStride, zeroed by a pass that sets its output. */
    private final int[] gaps;
    /** Per worker: V [16][channels][taskTiles] then the outputs [rows][4][taskTiles], in the device's shared workspace. */
    private final int vSize, workerStride;
    private final float[][] tileScratch;

    // the pass in flight
    private float[] weight, packed, from, to, work;
    private int weightOffset;
    private boolean transposed, accumulate;

    private final WorkerPool.Task packTask = this::packRowTile;
    private final WorkerPool.Task tilesTask = this::tiles;
    private final WorkerPool.Task gapsTask = this::zeroGaps;

    /**
     * The product from {@code channels} rows of the layout {@code plane} into {@code rows} rows of
     * it (forward: in into out channels; data gradient: out into in).
     */
    Winograd(Plane plane, int channels, int rows, Kernels kernels, WorkerPool pool, CpuDevice device) {
        this.plane = plane;
        this.channels = channels;
        this.rows = rows;
        this.kernels = kernels;
        this.pool = pool;
        this.device = device;
        this.nr = kernels.nr();
        this.rowTiles = new RowTiles(rows, kernels);
        // an odd number of cache lines: the packing writes one float to each of the 16 points per
        // filter, and at a power-of-two stride (64 KB at 128 x 128, 1 MB at 512 x 512) all 16 fell
        // into one L1 set and one L2 set
        this.pointStride = Plane.oddLines(Math.toIntExact(rowTiles.packedSize(channels)));
        device.reservePackedWeights((long) POINTS * pointStride);
        int th = (plane.h() + 1) / 2, tw = (plane.w() + 1) / 2;
        tiles = plane.n() * th * tw;
        // tasks of 1 to 4 groups of nr tiles: long enough to reuse each packed row tile of U across
        // several groups, short enough for 8 tasks a thread
        int groups = Math.max(1, Math.min(4, tiles / (nr * 8 * pool.threads())));
        taskTiles = groups * nr;
        tasks = (tiles + taskTiles - 1) / taskTiles;
        patchAt = new int[tasks * taskTiles];
        outputAt = new int[patchAt.length];
        shape = new byte[patchAt.length];
        int rs = plane.rowStride();
        for (int t = 0; t < patchAt.length; t++) {
            int real = Math.min(t, tiles - 1);
            int b = real / (th * tw), i = 2 * (real / tw % th), j = 2 * (real % tw);
            outputAt[t] = b * plane.imageStride() + i * rs + j;
            patchAt[t] = outputAt[t] - rs - 1;
            shape[t] = (byte) ((j + 1 < plane.w() ? 1 : 0) | (i + 1 < plane.h() ? 2 : 0));
        }
        vRowLength = Plane.oddLines(taskTiles);
        vPoint = Plane.oddLines(channels * vRowLength);
        vRow = new int[channels];
        for (int c = 0; c < channels; c++) vRow[c] = c * vRowLength;
        gaps = plane.borderPositions();
        vSize = POINTS * vPoint;
        workerStride = Plane.oddLines(vSize + rows * 4 * vRowLength);
        device.reserveWinogradWorkspace((long) workerStride * pool.threads());
        tileScratch = WorkerPool.scratch(pool.threads(), kernels.mr() * nr);
    }

    /**
     * The product with the filters of W [out][in][3][3] (at {@code weight[weightOffset ..]}): as
     * they are ({@code transposed} false: rows = out, channels = in), or for the data gradient
     * W^T turned by 180 degrees (rows = in, channels = out). {@code to} (+)= the product of {@code from}.
     */
    void run(float[] weight, int weightOffset, boolean transposed, float[] from, float[] to, boolean accumulate) {
        this.weight = weight;
        this.weightOffset = weightOffset;
        this.transposed = transposed;
        this.from = from;
        this.to = to;
        this.accumulate = accumulate;
        packed = device.packedWeights();
        work = device.winogradWorkspace();
        pool.forEach(rowTiles.count(), packTask);
        if (!accumulate) pool.forEach(rows, gapsTask);
        pool.forEach(tasks, tilesTask);
        this.weight = this.from = this.to = null;
    }

    /**
     * U = G g G^T of every filter of row tile mt, packed per point as the micro-kernel reads A:
     * U[xi] at xi * pointStride, row tile mt's [channel][its stride]. G = [[1, 0, 0], [1/2, 1/2,
     * 1/2], [1/2, -1/2, 1/2], [0, 0, 1]], in doubles, each point rounded once to float.
     */
    private void packRowTile(int mt, int worker) {
        int first = rowTiles.first(mt), stride = rowTiles.stride(mt), base = rowTiles.offset(mt, channels);
        int in = transposed ? rows : channels;
        double[] g = new double[9], t = new double[12];
        // channels outer, rows inner: each point's stores for one channel fill one run of the
        // packing, and the data gradient's filters (o = c, i = first + r) are read in order
        for (int c = 0; c < channels; c++) {
            for (int r = 0; r < rowTiles.rows(mt); r++) {
                int o = transposed ? c : first + r, i = transposed ? first + r : c;
                int at = weightOffset + (o * in + i) * 9;
                for (int uv = 0; uv < 9; uv++) g[uv] = weight[at + (transposed ? 8 - uv : uv)];
                for (int v = 0; v < 3; v++) { // t = G g, 4 x 3
                    t[v] = g[v];
                    t[3 + v] = 0.5 * (g[v] + g[3 + v] + g[6 + v]);
                    t[6 + v] = 0.5 * (g[v] - g[3 + v] + g[6 + v]);
                    t[9 + v] = g[6 + v];
                }
                int at0 = base + c * stride + r;
                for (int a = 0; a < 4; a++) { // U = t G^T, 4 x 4
                    double t0 = t[3 * a], t1 = t[3 * a + 1], t2 = t[3 * a + 2];
                    pack(4 * a, at0, t0);
                    pack(4 * a + 1, at0, 0.5 * (t0 + t1 + t2));
                    pack(4 * a + 2, at0, 0.5 * (t0 - t1 + t2));
                    pack(4 * a + 3, at0, t2);
                }
            }
        }
    }

    private void pack(int xi, int at, double u) {
        packed[xi * pointStride + at] = (float) (NEGATED[xi] ? -u : u);
    }

    private void zeroGaps(int row, int worker) {
        CpuConv2d.zeroGaps(to, row, plane, gaps);
    }

    /** Tiles [task * taskTiles, ...): their V, the 16 products into their outputs, the outputs where they lie. */
    private void tiles(int task, int worker) {
        float[] w = work;
        int v0 = worker * workerStride, y0 = v0 + vSize, t0 = task * taskTiles, width = taskTiles, ld = vRowLength;
        transformInput(t0, w, v0);
        java.util.Arrays.fill(w, y0, y0 + rows * 4 * ld, 0f);
        float[] t = tileScratch[worker];
        for (int xi = 0; xi < POINTS; xi++) {
            int[] sign = SIGN[xi];
            for (int col = 0; col < width; col += nr) {
                for (int mt = 0; mt < rowTiles.count(); mt++) {
                    int first = rowTiles.first(mt), n = rowTiles.rows(mt);
                    int aOff = xi * pointStride + rowTiles.offset(mt, channels), aStride = rowTiles.stride(mt);
                    // rows first..first+n of output FIRST[xi] += U[xi] V[xi] (outputs row k at 4k ld), then the others from t
                    kernels.tile(packed, aOff, aStride, channels, w, vRow, v0 + xi * vPoint + col,
                            w, y0 + (first * 4 + FIRST[xi]) * ld + col, 4 * ld, n, true, null, 0, t);
                    for (int o = 0; o < 4; o++) {
                        if (sign[o] != 0 && o != FIRST[xi]) kernels.addTile(t, w, y0 + (first * 4 + o) * ld + col, 4 * ld, n, sign[o] < 0);
                    }
                }
            }
        }
        storeOutputs(t0, Math.min(width, tiles - t0), w, y0);
    }

    /**
     * V[xi][c][j] = (B^T d B)[xi] for the patch d of channel c around tile t0 + j, B^T = [[1, 0, -1, 0],
     * [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]: the columns' transform of each of d's rows, then
     * the rows' of those.
     */
    private void transformInput(int t0, float[] w, int v0) {
        float[] x = from;
        int ld = plane.rowLength(), lead = plane.lead(), rs = plane.rowStride(), point = vPoint;
        for (int c = 0; c < channels; c++) {
            int ch = c * ld + lead, vc = v0 + c * vRowLength;
            for (int j = 0; j < taskTiles; j++) {
                int p = ch + patchAt[t0 + j];
                // e_a. = (row a of d) B, row by row; locals, so that they stay in registers
                float d0 = x[p], d1 = x[p + 1], d2 = x[p + 2], d3 = x[p + 3];
                float e00 = d0 - d2, e01 = d1 + d2, e02 = d2 - d1, e03 = d1 - d3;
                p += rs;
                d0 = x[p]; d1 = x[p + 1]; d2 = x[p + 2]; d3 = x[p + 3];
                float e10 = d0 - d2, e11 = d1 + d2, e12 = d2 - d1, e13 = d1 - d3;
                p += rs;
                d0 = x[p]; d1 = x[p + 1]; d2 = x[p + 2]; d3 = x[p + 3];
                float e20 = d0 - d2, e21 = d1 + d2, e22 = d2 - d1, e23 = d1 - d3;
                p += rs;
                d0 = x[p]; d1 = x[p + 1]; d2 = x[p + 2]; d3 = x[p + 3];
                float e30 = d0 - d2, e31 = d1 + d2, e32 = d2 - d1, e33 = d1 - d3;
                int at = vc + j;
                w[at] = e00 - e20;
                w[at + point] = e01 - e21;
                w[at + 2 * point] = e02 - e22;
                w[at + 3 * point] = e03 - e23;
                w[at + 4 * point] = e10 + e20;
                w[at + 5 * point] = e11 + e21;
                w[at + 6 * point] = e12 + e22;
                w[at + 7 * point] = e13 + e23;
                w[at + 8 * point] = e20 - e10;
                w[at + 9 * point] = e21 - e11;
                w[at + 10 * point] = e22 - e12;
                w[at + 11 * point] = e23 - e13;
                w[at + 12 * point] = e10 - e30;
                w[at + 13 * point] = e11 - e31;
                w[at + 14 * point] = e12 - e32;
                w[at + 15 * point] = e13 - e33;
            }
        }
    }

    /** Each row's outputs of tiles t0 .. t0 + count into (or added to) their positions in the layout. */
    private void storeOutputs(int t0, int count, float[] w, int y0) {
        float[] y = to;
        int ld = plane.rowLength(), lead = plane.lead(), rs = plane.rowStride(), width = vRowLength;
        for (int k = 0; k < rows; k++) {
            int row = k * ld + lead, at = y0 + k * 4 * width;
            for (int j = 0; j < count; j++) {
                int t = t0 + j, q = row + outputAt[t], s = shape[t];
                float o0 = w[at + j], o1 = w[at + width + j], o2 = w[at + 2 * width + j], o3 = w[at + 3 * width + j];
                if (accumulate) {
                    y[q] += o0;
                    if ((s & 1) != 0) y[q + 1] += o1;
                    if ((s & 2) != 0) y[q + rs] += o2;
                    if (s == 3) y[q + rs + 1] += o3;
                } else {
                    y[q] = o0;
                    if ((s & 1) != 0) y[q + 1] = o1;
                    if ((s & 2) != 0) y[q + rs] = o2;
                    if (s == 3) y[q + rs + 1] = o3;
                }
            }
        }
    }
}
