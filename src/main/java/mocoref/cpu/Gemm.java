package mocoref.cpu;

import mocoref.parallel.WorkerPool;

/**
 * C (+)= alpha * A.B for the small matrix products of the head and the loss (Linear layers, logits
 * against the queue and their gradients), with A and B given by strides so that transposes cost
 * nothing but the packing. Both operands are packed (A into [MR-row panels][K][MR], the last one
 * ragged with its rows past m zero, B into [NR-column panels][K][NR]) into buffers that grow once, on first use, and then are reused.
 * Parallel over the pairs of panels.
 */
final class Gemm {
    private final Kernels kernels;
    private final WorkerPool pool;
    private final int mr, nr;
    private float[] packA = new float[0];
    private float[] packB = new float[0];
    private int[] rowOff = new int[0];
    private final float[][] edge; // per worker: one tile, for panels narrower than NR
    private final float[][] scratch; // per worker: the micro-kernel's scratch tile

    // the arguments of the product in flight, read by the tasks
    private int m, n, k, mTiles, nTiles, aOff, aRs, aCs, bOff, bRs, bCs, cOff, ldc;
    private float alpha;
    private float[] a, b, c;
    private boolean accumulate;

    private final WorkerPool.Task pack = this::pack;
    private final WorkerPool.Task compute = this::compute;

    Gemm(Kernels kernels, WorkerPool pool) {
        this.kernels = kernels;
        this.pool = pool;
        this.mr = kernels.mr();
        this.nr = kernels.nr();
        edge = WorkerPool.scratch(pool.threads(), mr * nr);
        scratch = WorkerPool.scratch(pool.threads(), mr * nr);
    }

    /**
     * c[cOff + i*ldc + j] (+)= alpha * sum_t A(i, t) B(t, j) for i < m, j < n, t < k, where
     * A(i, t) = a[aOff + i*aRs + t*aCs] and B(t, j) = b[bOff + t*bRs + j*bCs].
     */
    void multiply(int m, int n, int k, float alpha, float[] a, int aOff, int aRs, int aCs,
                  float[] b, int bOff, int bRs, int bCs, float[] c, int cOff, int ldc, boolean accumulate) {
        this.m = m;
        this.n = n;
        this.k = k;
        this.alpha = alpha;
        this.a = a;
        this.aOff = aOff;
        this.aRs = aRs;
        this.aCs = aCs;
        this.b = b;
        this.bOff = bOff;
        this.bRs = bRs;
        this.bCs = bCs;
        this.c = c;
        this.cOff = cOff;
        this.ldc = ldc;
        this.accumulate = accumulate;
        mTiles = (m + mr - 1) / mr;
        nTiles = (n + nr - 1) / nr;
        ensureCapacity();
        pool.forEach(mTiles + nTiles, pack);
        pool.forEach(mTiles * nTiles, compute);
    }

    private void ensureCapacity() {
        if (packA.length < mTiles * mr * k) packA = new float[mTiles * mr * k];
        if (packB.length < nTiles * nr * k) packB = new float[nTiles * nr * k];
        if (rowOff.length < k) {
            rowOff = new int[k];
            for (int t = 0; t < k; t++) rowOff[t] = t * nr;
        }
    }

    private void pack(int index, int worker) {
        if (index < mTiles) { // panel of A rows index*MR.., scaled by alpha, zero past row m
            int base = index * k * mr;
            for (int t = 0; t < k; t++) {
                for (int r = 0; r < mr; r++) {
                    int i = index * mr + r;
                    packA[base + t * mr + r] = i < m ? alpha * a[aOff + i * aRs + t * aCs] : 0f;
                }
            }
        } else { // panel of B columns, zero past column n
            int p = index - mTiles, base = p * k * nr;
            for (int t = 0; t < k; t++) {
                int src = bOff + t * bRs;
                for (int j = 0; j < nr; j++) {
                    int col = p * nr + j;
                    packB[base + t * nr + j] = col < n ? b[src + col * bCs] : 0f;
                }
            }
        }
    }

    private void compute(int index, int worker) {
        int mt = index / nTiles, nt = index % nTiles;
        int rows = Math.min(mr, m - mt * mr), cols = Math.min(nr, n - nt * nr);
        int aAt = mt * k * mr, bCol = nt * k * nr;
        int cAt = cOff + mt * mr * ldc + nt * nr;
        if (cols == nr) {
            kernels.tile(packA, aAt, mr, k, packB, rowOff, bCol, c, cAt, ldc, rows, accumulate, null, 0, scratch[worker]);
            return;
        }
        float[] t = edge[worker];
        kernels.tile(packA, aAt, mr, k, packB, rowOff, bCol, t, 0, nr, rows, false, null, 0, scratch[worker]);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                int at = cAt + r * ldc + j;
                c[at] = accumulate ? c[at] + t[r * nr + j] : t[r * nr + j];
            }
        }
    }
}
