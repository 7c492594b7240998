package mocoref.cpu;

import mocoref.parallel.WorkerPool;

/**
 * A convolution's weight gradient dW[o, c, u, v] = sum_q dY[o, q] X[c, q + shift(u, v)] as a GEMM
 * whose reduction runs over the positions q, on the fast {@link Kernels#tile} micro-kernel.
 *
 * <p>The tile wants A packed [k][MR] and B rows of NR contiguous columns, with k = q here. So per
 * chunk of positions it packs dY into [row tile][q][its stride] ({@link RowTiles}) and transposes the source channels once
 * into XT[q][c] (with a halo of the largest shift on each side). The taps are then column blocks
 * (u, v, c-block) of XT at a row offset of shift(u, v): the 3x3 shifts cost no copies, and the
 * packing is (out + channels) moves per position against out * channels * k*k FMAs. dW comes out
 * in [o][u, v][c] order (stored in column blocks, see {@link #at}) and is permuted when summed into the
 * parameter gradient.
 *
 * <p>A strided convolution works the same way without im2col: output position q reads source
 * position srcPos[q] + shift(u, v) (a table: not affine across rows), XT holds the chunk's source
 * positions (about stride^2 times as many as output positions, still only channels moves each),
 * and the tile's per-row offset table points each k at its row.
 *
 * <p>Channels must be a multiple of NR, or divide it with NR/channels taps at most the kernel's
 * width (16 channels on AVX-512's 32 columns): then XT's rows are exactly the channels long, so
 * NR columns from tap (u, v)'s offset are the channels of taps (u, v), (u, v+1), ... (a tap one
 * column right is one position on), and a tile computes that many taps of a kernel row at once.
 * Each kernel row gets whole blocks of such taps (two blocks of two for a 3x3's three), the last
 * block's extra tap is computed and dropped. {@link #supports} says which; the caller falls back
 * to the dot-product kernel otherwise (the 1- or 3-channel stem, 16-channel 1x1 convolutions).
 *
 * <p>Determinism: the positions are split into {@code groups} (one per thread) contiguous ranges,
 * each summed into its own partial gradient, and the partials are added in group order, so the
 * result depends on the thread count but not on which thread ran which range.
 *
 * <p>Memory: the per-thread partial gradients, chunk sums, XT and packed dY live in a {@link Workspace}
 * that all the weight gradients of a device share (one runs at a time), sized for the largest:
 * per convolution they added up to four copies of the weights per thread (140 MB at width 64).
 *
 * <p>Measured (float32.StepTiming, 2 threads, width 16, weight gradient alone): see docs/performance.md.
 */
final class WeightGradient {
    /**
     * Target size of one chunk's XT (floats; 256 KB): L2-resident with the packed dY, and so many
     * positions that adding the chunk's sums into the partial, one pass over a copy of dW, is paid
     * rarely (128 positions a chunk at 512 channels, 512 at 128). It was 64 KB: ConvTiming's weight
     * gradient alone, batch 256, medians of 5 alternating runs (thirteenth sitting), 128 -> 128 at
     * 14x14 64.4 -> 49.7 ms, at 7x7 16.4 -> 14.1, 64 -> 128 s2 40.4 -> 34.2, 128 -> 256 s2 36.3 -> 30.7,
     * with -XX:UseAVX=2 128 -> 128 at 14x14 145 -> 120 and 256 -> 256 at 7x7 146 -> 88; the 32- and
     * 64-channel layers, 256 -> 256 on AVX-512 and 128 -> 128 at 4x4 within noise.
     */
    private static final int XT_FLOATS = 65536;
    /**
     * Positions per micro-kernel call. Each accumulator lane sums this many products in sequence,
     * so it also bounds the float32 rounding (a twin case missed its tolerance at 1024); blocks add into a
     * per-chunk sum, chunks into the group's partial.
     */
    private static final int BLOCK = 128;
    /**
     * A direct convolution whose chunk sums and partial (two copies of dW) together exceed this many
     * bytes sums chunks of one block, each added straight into the partial, where the transposition's
     * halo (rows read twice, by this chunk and the next) adds at most a fifth to a chunk's rows: the
     * chunk sums' pass over dW, and the room they take in L2, cost more than the halo. ConvAB (one
     * JVM, 10-12 rounds over 4 copies of each build, twenty-first sitting, Sapphire Rapids), weight
     * gradient one block / before: 256 -> 256 @4 0.931, 0.988, 0.972, 0.967 in four runs (AVX2 0.948),
     * @7 0.974 (0.939); 128 -> 128 @7 0.966, 0.968, 0.969 (0.963), @4 0.929 (0.972); but 128 -> 128 @14
     * 1.030 (halo 17 rows a side: 27% more rows transposed). 512-channel layers had chunks of one
     * block already (XT_FLOATS / 512).
     */
    private static final long ONE_BLOCK_SUMS = 1 << 20;

    private final Kernels kernels;
    private final WorkerPool pool;
    private final int mr, nr;
    private final int out, channels, kk, halo, chunk, columns;
    private final RowTiles outRows;
    /**
     * Taps per column block (NR / channels where channels are fewer than NR, else 1), and per tap
     * (u, v) its slot in C's rows: u * slotsPerRow + v, where a kernel row has whole blocks of slots.
     */
    private final int kernel, tapsPerBlock, slotsPerRow;
    private final int[] slot;
    /**
     * XT's row length: the channels rounded up to an odd number of cache lines. The micro-kernel
     * reads one 128-byte slice of each of 128 XT rows per call; at 256 channels (1 KiB rows) those
     * fell into 4 of the L1 cache's 64 sets and missed on nearly every load.
     */
    private final int ldx;
    private final int[] shift; // per tap (u, v): position offset in the source
    private final int[] srcPos; // null: output position q reads source position q
    /**
     * The output positions summed over, in order: the images' only (dY is zero on the layout's
     * border, so its products added nothing but time: 7% of the positions at 28x28, 13% at 14x14,
     * 23% at 7x7, 36% at 4x4). The sums below run over indices into it.
     */
    private final int[] positions;
    /**
     * A strided 1x1 convolution reads only every stride-th position of every stride-th row: gather
     * those into XT (channels moves per output position) rather than the whole range (stride^2 times
     * as many: measured at 0.8x the old dot-product kernel's speed on layer2's downsample).
     */
    private final boolean gather;
    /** With {@link #gather}: the source position of each of {@link #positions}. */
    private final int[] sourceAt;
    private final int[][][] rowOff; // per worker and block: where XT's row for output position q0 + k starts
    private final int groups; // one per thread
    private final Workspace workspace;
    // the workspace's arrays, fetched for the pass in flight:
    private float[][] chunkSum; // per worker: one chunk's gradient, [column block][out][nr] (see at)
    private float[][] partial; // per group: the same
    private float[][] xt, packedDy; // per worker
    private final float[][] scratch; // per worker: the tile's scratch

    // arguments of the pass in flight
    private float[] dy, src, grad;
    private int gradOff;
    private int dyLd, dyBase, srcLd, srcBase;

    private final WorkerPool.Task groupTask = this::group;
    private final WorkerPool.Task sumTask = this::sumPartials;

    static boolean supports(Kernels kernels, int channels, int kernel) {
        int nr = kernels.nr();
        return channels % nr == 0 || (nr % channels == 0 && nr / channels <= kernel);
    }

    /**
     * @param kernel the kernel's width (shift has kernel^2 taps)
     * @param shift  per tap (u, v) in row-major order, the offset of its source position from the
     *               output position's source position
     * @param srcPos    for a strided convolution, the source position each output position reads at
     *                  shift 0; null for the identity
     * @param positions the output positions to sum over (the images'), in order
     * @param stride how many source positions an output position advances on average (1, or 4 for
     *               stride 2), to size the chunks
     */
    WeightGradient(Kernels kernels, WorkerPool pool, int out, int channels, int kernel, int[] shift, int[] srcPos, int[] positions,
                   int stride, Workspace workspace) {
        if (!supports(kernels, channels, kernel) || shift.length != kernel * kernel) {
            throw new IllegalArgumentException(channels + " channels, kernel " + kernel + " on " + kernels.name());
        }
        this.kernels = kernels;
        this.pool = pool;
        this.mr = kernels.mr();
        this.nr = kernels.nr();
        this.out = out;
        this.channels = channels;
        this.kk = shift.length;
        this.shift = shift.clone();
        this.srcPos = srcPos;
        this.positions = positions;
        int count = positions.length;
        int h = 0;
        for (int s : shift) h = Math.max(h, Math.abs(s));
        this.halo = h;
        this.gather = srcPos != null && shift.length == 1 && shift[0] == 0;
        this.sourceAt = gather ? java.util.Arrays.stream(positions).map(q -> srcPos[q]).toArray() : null;
        this.outRows = new RowTiles(out, kernels);
        this.kernel = kernel;
        this.tapsPerBlock = channels >= nr ? 1 : nr / channels;
        this.slotsPerRow = (kernel + tapsPerBlock - 1) / tapsPerBlock * tapsPerBlock;
        this.slot = new int[kk];
        for (int uv = 0; uv < kk; uv++) slot[uv] = uv / kernel * slotsPerRow + uv % kernel;
        this.columns = kernel * slotsPerRow * channels; // a multiple of nr: whole channel blocks, or whole blocks of paired taps
        boolean oneBlockChunks = srcPos == null && 2L * out * columns * Float.BYTES > ONE_BLOCK_SUMS && 2 * halo <= BLOCK / 5;
        this.chunk = oneBlockChunks ? BLOCK : Math.max(128, Math.min(2048, XT_FLOATS / (channels * (gather ? 1 : stride)) / 16 * 16));
        this.ldx = tapsPerBlock > 1 ? channels : Plane.oddLines(channels); // paired taps need rows exactly the channels
        int maxRows = 0;
        for (int q0 = 0; q0 < count; q0 += chunk) {
            int last = Math.min(count, q0 + chunk) - 1;
            maxRows = Math.max(maxRows, gather ? chunk : pos(last) - pos(q0) + 1 + 2 * halo);
        }
        maxRows += slotsPerRow - kernel; // the dropped taps read a row or more past the last
        int threads = pool.threads();
        this.groups = threads;
        this.workspace = workspace;
        workspace.reserve(threads, out * columns, maxRows * ldx, Math.toIntExact(outRows.packedSize(chunk)));
        rowOff = new int[threads][(chunk + BLOCK - 1) / BLOCK][BLOCK];
        scratch = WorkerPool.scratch(threads, mr * nr);
    }

    /** The source position index i reads at shift 0. */
    private int pos(int i) {
        return srcPos == null ? positions[i] : srcPos[positions[i]];
    }

    /**
     * grad[gradOff + (o*channels + c)*kk + uv] += dW. dY row o starts at dy[o*dyLd + dyBase], source
     * channel c at src[c*srcLd + srcBase]; summed over {@link #positions}.
     */
    void accumulate(float[] dy, int dyLd, int dyBase, float[] src, int srcLd, int srcBase, float[] grad, int gradOff) {
        this.dy = dy;
        this.dyLd = dyLd;
        this.dyBase = dyBase;
        this.src = src;
        this.srcLd = srcLd;
        this.srcBase = srcBase;
        workspace.ensure();
        partial = workspace.partial;
        chunkSum = workspace.chunkSum;
        xt = workspace.xt;
        packedDy = workspace.packedDy;
        pool.forEach(groups, groupTask);
        this.grad = grad;
        this.gradOff = gradOff;
        pool.forEach(out, sumTask);
    }

    /**
     * Output channel o's gradient: the groups' partials added in group order (the same sums for
     * any number of threads doing this), permuted from [slot of uv][c] to [c][uv].
     */
    private void sumPartials(int o, int worker) {
        for (int g = 0; g < groups; g++) {
            float[] p = partial[g];
            for (int uv = 0; uv < kk; uv++) {
                int to = gradOff + o * channels * kk + uv, run = Math.min(nr, channels); // a run of channels lies in one column block
                for (int c0 = 0; c0 < channels; c0 += run) {
                    int from = at(o, slot[uv] * channels + c0);
                    for (int c = c0; c < c0 + run; c++) grad[to + c * kk] += p[from + c - c0];
                }
            }
        }
    }

    /**
     * Where C's element (o, column) lies in a chunk's sums and a partial: C in blocks of nr columns,
     * each block [out][nr] contiguous, so that a tile's rows lie nr floats apart. In rows of all the
     * columns, a tile's 8 rows were 18 KB apart at 512 -> 512 (a page each: 512 pages for one column
     * block's tiles, in a 9.4 MB array); ConvTiming's weight gradient at 128 -> 128, 14x14, batch 256,
     * 7 alternating pairs: 52.6 -> 47.6 ms (median), faster in 6 of them.
     */
    private int at(int o, int column) {
        return (column / nr * out + o) * nr + column % nr;
    }

    private void group(int g, int worker) {
        int count = positions.length, chunks = (count + chunk - 1) / chunk;
        int first = (int) ((long) chunks * g / groups), last = (int) ((long) chunks * (g + 1) / groups);
        // the group's first chunk writes its partial, the others add to it: no zeroing pass (a serial
        // fill of both partials before the groups ran, 19 MB at 512 -> 512)
        if (first == last) java.util.Arrays.fill(partial[g], 0, out * columns, 0f);
        for (int ch = first; ch < last; ch++) {
            int q0 = ch * chunk, len = Math.min(chunk, count - q0);
            chunk(q0, len, partial[g], ch > first, worker);
        }
    }

    /** One chunk's sums written into part ({@code add} false) or added to it. */
    private void chunk(int q0, int len, float[] part, boolean add, int worker) {
        float[] a = packedDy[worker], b = xt[worker], sum = chunkSum[worker], t = scratch[worker];
        int[][] rows = rowOff[worker];
        packDy(q0, len, a);
        if (gather) { // XT row k is output position q0 + k's source position
            for (int k = 0; k < len; k++) rows[k / BLOCK][k % BLOCK] = k * ldx;
            gatherSource(q0, len, b);
        } else { // XT holds the chunk's whole range of source positions
            int p0 = pos(q0) - halo;
            for (int k = 0; k < len; k++) rows[k / BLOCK][k % BLOCK] = (pos(q0 + k) - p0) * ldx;
            transposeSource(p0, pos(q0 + len - 1) + halo + 1 - p0, b);
        }
        // A chunk of one block (the 512-channel layers' every chunk, and ONE_BLOCK_SUMS's) adds its tiles straight into the
        // partial: part + the block's sum, the same addition as through the chunk's sums, without
        // writing and reading back a 9.4 MB copy of dW. ConvTiming 512 -> 512 at 4x4, batch 256, 6
        // alternating pairs: dW 77.4 -> 67.0 ms (median; runs 66-89 -> 65-84).
        boolean oneBlock = len <= BLOCK;
        float[] c = oneBlock ? part : sum;
        for (int kb = 0; kb < len; kb += BLOCK) { // a block's B panels (8 KiB) and A panels stay in L1
            int kLen = Math.min(BLOCK, len - kb);
            for (int u = 0; u < kernel; u++) {
                for (int v = 0; v < kernel; v += tapsPerBlock) { // with paired taps, one block holds taps v, v+1, ...
                    int uv = u * kernel + v;
                    for (int cb = 0; cb < channels; cb += nr) {
                        int col = shift[uv] * ldx + cb, cAt = slot[uv] * channels + cb; // C's column, a multiple of nr
                        for (int mt = 0; mt < outRows.count(); mt++) {
                            int stride = outRows.stride(mt);
                            if (outRows.rows(mt) == mr) { // a full tile: summed from C's value in registers
                                kernels.tileInto(a, outRows.offset(mt, len) + kb * stride, stride, kLen, b, rows[kb / BLOCK], col,
                                        c, at(outRows.first(mt), cAt), oneBlock ? add : kb > 0);
                                continue;
                            }
                            kernels.tile(a, outRows.offset(mt, len) + kb * stride, stride, kLen, b, rows[kb / BLOCK], col,
                                    c, at(outRows.first(mt), cAt), nr, outRows.rows(mt), oneBlock ? add : kb > 0, null, 0, t);
                        }
                    }
                }
            }
        }
        if (oneBlock) return;
        int size = out * columns;
        if (add) for (int i = 0; i < size; i++) part[i] += sum[i];
        else System.arraycopy(sum, 0, part, 0, size);
    }

    /** A[mt][k][r] = dY[first(mt) + r, positions[q0 + k]], per row tile mt at its stride. */
    private void packDy(int q0, int len, float[] a) {
        for (int mt = 0; mt < outRows.count(); mt++) {
            kernels.transpose(dy, outRows.first(mt) * dyLd + dyBase, dyLd, outRows.rows(mt), positions, q0, len, a, outRows.offset(mt, len),
                    outRows.stride(mt));
        }
    }

    /** XT[k][c] = source channel c at index q0 + k's source position. */
    private void gatherSource(int q0, int len, float[] b) {
        kernels.transpose(src, srcBase, srcLd, channels, sourceAt, q0, len, b, 0, ldx);
    }

    /** XT[p][c] = source channel c at position p0 + p, for p < rows. */
    private void transposeSource(int p0, int rows, float[] b) {
        kernels.transpose(src, srcBase + p0, srcLd, channels, null, 0, rows, b, 0, ldx);
    }

    /**
     * The arrays the weight gradients of one device share: each reserves what it needs when built,
     * and before a pass the arrays are (re)allocated when they are smaller than the largest
     * reservation (a gradient built after the first pass may need more). Only the positions a pass
     * writes are read back by it, so one gradient's leftovers never reach another's result.
     */
    static final class Workspace {
        private int threads, partialFloats, xtFloats, packedFloats;
        private boolean stale = true; // a reservation grew since the arrays were allocated
        private float[][] partial, chunkSum, xt, packedDy;

        /** Reserves per-thread arrays of these sizes (floats). */
        void reserve(int threads, int partialFloats, int xtFloats, int packedFloats) {
            stale |= threads > this.threads || partialFloats > this.partialFloats || xtFloats > this.xtFloats
                    || packedFloats > this.packedFloats;
            this.threads = Math.max(this.threads, threads);
            this.partialFloats = Math.max(this.partialFloats, partialFloats);
            this.xtFloats = Math.max(this.xtFloats, xtFloats);
            this.packedFloats = Math.max(this.packedFloats, packedFloats);
        }

        /** Before a pass: the arrays at the reserved sizes. */
        private void ensure() {
            if (!stale) return;
            partial = new float[threads][partialFloats];
            chunkSum = WorkerPool.scratch(threads, partialFloats);
            xt = WorkerPool.scratch(threads, xtFloats);
            packedDy = WorkerPool.scratch(threads, packedFloats);
            stale = false;
        }
    }
}
