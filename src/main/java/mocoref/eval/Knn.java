package mocoref.eval;

import mocoref.parallel.WorkerPool;



/**
 * The kNN monitor of the official CIFAR-10 demo ({@code knn_predict}): features and bank
 * L2-normalized, cosine similarity of each query with every bank vector, the {@code k} most similar
 * (k 200), each voting for its label with weight {@code exp(sim / t)} (t 0.1), and the class with
 * the largest total predicted.
 *
 * <p>It runs every epoch of training over 10k queries x 60k bank vectors, so it is blocked like a
 * matrix product: queries in tiles of {@link SimilarityKernel#MR}, the bank in panels of
 * {@code nr} vectors, both packed dimension-major; a task takes {@value #QUERY_BLOCK} queries and
 * walks the bank a cache-sized chunk at a time, so every chunk is read from memory once per task
 * and reused by all its query tiles. No similarity matrix is stored: each tile's results go
 * straight into per-query top-k buffers ({@link TopK}) past one comparison with the query's current
 * threshold. Results do not depend on the thread count.
 *
 * <p>Measured (KnnTiming; 10k x 60k x 128, k 200, clustered data, AVX without AVX2, JDK 17): 3.9 s
 * of CPU on one thread, about 2 s wall on two free cores; the similarities are 3/4 of it.
 */
public final class Knn {
    /** Queries per parallel task: a multiple of {@link SimilarityKernel#MR}. */
    static final int QUERY_BLOCK = 64;
    /** Floats of packed bank per chunk: 256 KB, which stays in L2 while a task's query tiles sweep it. */
    static final int CHUNK_FLOATS = 64 * 1024;

    private Knn() {}

    /**
     * kNN accuracy of {@code queries} against {@code bank}.
     *
     * @param bank        [n, dim] bank features, row-major (normalized here; the array is not modified)
     * @param bankLabels  [n] labels in 0..classes-1
     * @param queries     [m, dim] query features
     * @param queryLabels [m] their labels
     * @param k           neighbours that vote; more than n means all of them
     * @param t           temperature of the vote weights exp(sim / t)
     * @param threads     threads to use (the caller's included)
     */
    public static KnnResult evaluate(float[] bank, int[] bankLabels, float[] queries, int[] queryLabels, int dim, int classes,
            int k, double t, int threads) {
        double[] scores = scores(bank, bankLabels, queries, dim, classes, k, t, threads, SimilarityKernel.pick());
        return accuracy(scores, queryLabels, classes);
    }

    /** The weighted votes {@code scores[i*classes + c]} of every query i for every class c. */
    static double[] scores(float[] bank, int[] bankLabels, float[] queries, int dim, int classes, int k, double t, int threads,
            SimilarityKernel kernel) {
        if (dim < 1) throw new IllegalArgumentException("dim must be positive, got " + dim);
        if (bank.length % dim != 0 || queries.length % dim != 0) {
            throw new IllegalArgumentException("bank (" + bank.length + ") and queries (" + queries.length + ") must hold whole "
                    + dim + "-vectors");
        }
        int n = bank.length / dim;
        int m = queries.length / dim;
        if (n < 1) throw new IllegalArgumentException("the bank is empty");
        if (bankLabels.length != n) throw new IllegalArgumentException(n + " bank vectors but " + bankLabels.length + " labels");
        checkLabels(bankLabels, classes, "bank");
        if (k < 1) throw new IllegalArgumentException("k must be positive, got " + k);
        if (!(t > 0)) throw new IllegalArgumentException("t must be positive, got " + t);
        if (threads < 1) throw new IllegalArgumentException("threads must be positive, got " + threads);
        int kk = Math.min(k, n);
        int mr = SimilarityKernel.MR;
        int nr = kernel.nr();
        int panels = (n + nr - 1) / nr;
        int tiles = (m + mr - 1) / mr;
        float[] packedBank = pack(bank, n, dim, nr, panels);
        float[] packedQueries = pack(queries, m, dim, mr, tiles);
        int chunkPanels = Math.max(1, CHUNK_FLOATS / (dim * nr));
        int tilesPerBlock = QUERY_BLOCK / mr;
        int blocks = (tiles + tilesPerBlock - 1) / tilesPerBlock;
        double[] scores = new double[m * classes];

        WorkerPool.shared(threads).forEach(blocks, (block, worker) -> {
            int firstTile = block * tilesPerBlock;
            int lastTile = Math.min(tiles, firstTile + tilesPerBlock);
            TopK[] top = new TopK[(lastTile - firstTile) * mr];
            for (int i = 0; i < top.length; i++) top[i] = new TopK(kk);
            float[] out = new float[mr * nr];
            for (int chunk = 0; chunk < panels; chunk += chunkPanels) {
                int chunkEnd = Math.min(panels, chunk + chunkPanels);
                for (int tile = firstTile; tile < lastTile; tile++) {
                    int rows = Math.min(mr, m - tile * mr);
                    int h0 = (tile - firstTile) * mr;
                    for (int p = chunk; p < chunkEnd; p++) {
                        kernel.tile(packedQueries, tile * dim * mr, packedBank, p * dim * nr, dim, out);
                        collect(out, nr, rows, Math.min(nr, n - p * nr), top, h0, p * nr);
                    }
                }
            }
            for (int i = 0; i < top.length; i++) {
                int q = firstTile * mr + i;
                if (q >= m) break;
                vote(top[i], bankLabels, t, scores, q * classes);
            }
        });
        return scores;
    }

    /** Offers a tile's similarities (bank vectors from {@code first}) to its queries' top-k buffers. */
    private static void collect(float[] out, int nr, int rows, int cols, TopK[] top, int h0, int first) {
        for (int r = 0; r < rows; r++) {
            TopK heap = top[h0 + r];
            float thr = heap.threshold();
            for (int j = 0, o = r * nr; j < cols; j++, o++) {
                if (out[o] > thr) { // rare after the first few thousand bank vectors
                    heap.offer(out[o], first + j);
                    thr = heap.threshold();
                }
            }
        }
    }

    /** The demo's weighted vote: {@code scores[c] += exp(sim / t)} for every neighbour of class c. */
    private static void vote(TopK heap, int[] bankLabels, double t, double[] scores, int off) {
        heap.finish();
        for (int j = 0; j < heap.size(); j++) scores[off + bankLabels[heap.index(j)]] += Math.exp(heap.sim(j) / t);
    }

    /** Top-1 and top-5 accuracy of the votes; ties between classes go to the lower class index. */
    static KnnResult accuracy(double[] scores, int[] labels, int classes) {
        int m = labels.length;
        if (m < 1) throw new IllegalArgumentException("no queries");
        if (scores.length != m * classes) throw new IllegalArgumentException(scores.length + " scores for " + m + " queries");
        checkLabels(labels, classes, "query");
        long top1 = 0;
        long top5 = 0;
        for (int i = 0; i < m; i++) {
            int rank = rank(scores, i * classes, classes, labels[i]);
            if (rank == 0) top1++;
            if (rank < 5) top5++;
        }
        return new KnnResult((double) top1 / m, (double) top5 / m);
    }

    /**
     * The position of {@code label} when classes are sorted by score, descending, ties by class
     * index; {@code classes} (last) when any score is NaN.
     */
    static int rank(double[] scores, int off, int classes, int label) {
        double s = scores[off + label];
        int rank = 0;
        for (int c = 0; c < classes; c++) {
            double o = scores[off + c];
            if (Double.isNaN(o)) return classes; // a diverged classifier scores NaN: never a hit
            if (o > s || (o == s && c < label)) rank++;
        }
        return rank;
    }

    /**
     * Rows of {@code x} [rows, dim], L2-normalized as {@code F.normalize} (divided by max(norm, 1e-12)),
     * packed into groups of {@code width} rows stored dimension-major: element (row g*width + r, c)
     * at {@code (g*dim + c)*width + r}; rows past {@code rows} are zero. A row that is not finite
     * (a diverged encoder) becomes zero, so it ties with everything instead of poisoning the votes.
     */
    static float[] pack(float[] x, int rows, int dim, int width, int groups) {
        float[] out = new float[groups * dim * width];
        for (int i = 0; i < rows; i++) {
            double sq = 0;
            for (int c = 0; c < dim; c++) sq += (double) x[i * dim + c] * x[i * dim + c];
            if (!Double.isFinite(sq)) continue;
            double scale = 1 / Math.max(Math.sqrt(sq), 1e-12);
            int g = i / width;
            int r = i % width;
            for (int c = 0; c < dim; c++) out[(g * dim + c) * width + r] = (float) (x[i * dim + c] * scale);
        }
        return out;
    }

    private static void checkLabels(int[] labels, int classes, String what) {
        if (classes < 1) throw new IllegalArgumentException("classes must be positive, got " + classes);
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException(what + " label " + labels[i] + " at " + i + " is outside 0.." + (classes - 1));
            }
        }
    }
}
