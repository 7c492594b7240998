package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The kNN monitor against a brute-force float64 twin (every similarity computed, fully sorted,
 * votes summed): the same predicted class for every query and votes within 1e-4 relative, which
 * leaves room for float32 similarities (about 1e-7 each, amplified by exp(sim / 0.1) to about 1e-6)
 * and nothing for a lost or extra neighbour. The data are clustered so that votes are not near-ties.
 */
class KnnTest {
    /** Gaussian clusters around one random centre per class, {@code spread} the noise's scale; row i is class i % classes. */
    static float[] clustered(SplittableRandom rng, int rows, int dim, int classes, float spread) {
        float[][] centres = new float[classes][dim];
        for (float[] c : centres) for (int d = 0; d < dim; d++) c[d] = (float) gaussian(rng);
        float[] x = new float[rows * dim];
        for (int i = 0; i < rows; i++) {
            for (int d = 0; d < dim; d++) x[i * dim + d] = centres[i % classes][d] + spread * (float) gaussian(rng);
        }
        return x;
    }

    static int[] cyclic(int n, int classes) {
        return IntStream.range(0, n).map(i -> i % classes).toArray();
    }

    private static double gaussian(SplittableRandom rng) {
        return Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble());
    }

    /** The twin: float64 normalization and similarities, a full sort, the demo's vote. */
    static double[] bruteForce(float[] bank, int[] bankLabels, float[] queries, int dim, int classes, int k, double t) {
        int n = bank.length / dim;
        int m = queries.length / dim;
        double[] b = normalized(bank, dim);
        double[] q = normalized(queries, dim);
        double[] scores = new double[m * classes];
        for (int i = 0; i < m; i++) {
            double[] sim = new double[n];
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int d = 0; d < dim; d++) s += q[i * dim + d] * b[j * dim + d];
                sim[j] = s;
            }
            Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.comparingDouble((Integer j) -> -sim[j]));
            for (int r = 0; r < Math.min(k, n); r++) scores[i * classes + bankLabels[order[r]]] += Math.exp(sim[order[r]] / t);
        }
        return scores;
    }

    private static double[] normalized(float[] x, int dim) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length / dim; i++) {
            double sq = 0;
            for (int d = 0; d < dim; d++) sq += (double) x[i * dim + d] * x[i * dim + d];
            double norm = Math.max(Math.sqrt(sq), 1e-12);
            for (int d = 0; d < dim; d++) out[i * dim + d] = x[i * dim + d] / norm;
        }
        return out;
    }

    private static void assertMatchesTwin(int n, int m, int dim, int classes, int k, float spread, SimilarityKernel kernel, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] bank = clustered(rng, n, dim, classes, spread);
        float[] queries = clustered(rng, m, dim, classes, spread);
        int[] bankLabels = cyclic(n, classes);
        int[] queryLabels = cyclic(m, classes);
        double[] fast = Knn.scores(bank, bankLabels, queries, dim, classes, k, 0.1, 2, kernel);
        double[] twin = bruteForce(bank, bankLabels, queries, dim, classes, k, 0.1);
        for (int i = 0; i < m; i++) {
            double norm = 0;
            double diff = 0;
            for (int c = 0; c < classes; c++) {
                norm += twin[i * classes + c] * twin[i * classes + c];
                double d = fast[i * classes + c] - twin[i * classes + c];
                diff += d * d;
            }
            assertTrue(Math.sqrt(diff) <= 1e-4 * Math.sqrt(norm), "query " + i + ": votes " + Math.sqrt(diff / norm) + " apart");
        }
        assertEquals(Knn.accuracy(twin, queryLabels, classes), Knn.accuracy(fast, queryLabels, classes));
    }

    @Test
    void matchesTheBruteForceTwinWithEveryKernel() {
        // Odd sizes: the bank is not a whole number of panels nor the queries of tiles; dim not a multiple of the vector.
        for (SimilarityKernel kernel : new SimilarityKernel[] {SimilarityKernel.pick(), new ScalarSimilarityKernel(16), new ScalarSimilarityKernel(5)}) {
            assertMatchesTwin(1237, 203, 37, 10, 200, 1.5f, kernel, 1);
            assertMatchesTwin(301, 70, 128, 7, 20, 2f, kernel, 2);
        }
    }

    @Test
    void kLargerThanTheBankUsesTheWholeBank() {
        assertMatchesTwin(50, 9, 8, 3, 200, 1f, SimilarityKernel.pick(), 3);
    }

    @Test
    void vectorAndScalarKernelsAgreeBitForBit() {
        SimilarityKernel vector = SimilarityKernel.pick();
        SimilarityKernel scalar = new ScalarSimilarityKernel(vector.nr());
        SplittableRandom rng = new SplittableRandom(4);
        int dim = 45;
        float[] q = new float[dim * SimilarityKernel.MR];
        float[] b = new float[dim * vector.nr()];
        for (int i = 0; i < q.length; i++) q[i] = (float) gaussian(rng);
        for (int i = 0; i < b.length; i++) b[i] = (float) gaussian(rng);
        float[] outV = new float[SimilarityKernel.MR * vector.nr()];
        float[] outS = new float[outV.length];
        vector.tile(q, 0, b, 0, dim, outV);
        scalar.tile(q, 0, b, 0, dim, outS);
        assertArrayEquals(outS, outV);
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        SplittableRandom rng = new SplittableRandom(5);
        int dim = 16;
        float[] bank = clustered(rng, 2000, dim, 10, 3f);
        float[] queries = clustered(rng, 300, dim, 10, 3f);
        int[] labels = cyclic(2000, 10);
        double[] one = Knn.scores(bank, labels, queries, dim, 10, 200, 0.1, 1, SimilarityKernel.pick());
        double[] two = Knn.scores(bank, labels, queries, dim, 10, 200, 0.1, 2, SimilarityKernel.pick());
        double[] three = Knn.scores(bank, labels, queries, dim, 10, 200, 0.1, 3, SimilarityKernel.pick());
        assertArrayEquals(one, two);
        assertArrayEquals(one, three);
    }

    @Test
    void separatedClustersAreClassifiedPerfectly() {
        SplittableRandom rng = new SplittableRandom(6);
        float[] bank = clustered(rng, 1000, 32, 10, 0.05f);
        float[] queries = clustered(rng, 100, 32, 10, 0.05f);
        // same generator state for centres would differ, so use the bank's own vectors as queries
        KnnResult r = Knn.evaluate(bank, cyclic(1000, 10), Arrays.copyOf(bank, 100 * 32), cyclic(100, 10), 32, 10, 20, 0.1, 2);
        assertEquals(1.0, r.top1());
        assertEquals(1.0, r.top5());
        // Queries from other clusters: their labels carry little, and top-1 and top-5 must be what the
        // brute-force twin's votes give, ranked here by a sort (ties to the lower class index).
        KnnResult chance = Knn.evaluate(bank, cyclic(1000, 10), queries, cyclic(100, 10), 32, 10, 20, 0.1, 2);
        double[] twin = bruteForce(bank, cyclic(1000, 10), queries, 32, 10, 20, 0.1);
        assertEquals(sortedAccuracy(twin, cyclic(100, 10), 10, 1), chance.top1());
        assertEquals(sortedAccuracy(twin, cyclic(100, 10), 10, 5), chance.top5());
        assertTrue(chance.top1() < 0.5 && chance.top5() > chance.top1(), chance.toString()); // not the perfect case in disguise
    }

    /** The fraction of queries whose label is among the {@code top} classes with the most votes. */
    static double sortedAccuracy(double[] scores, int[] labels, int classes, int top) {
        int hits = 0;
        for (int i = 0; i < labels.length; i++) {
            int q = i;
            List<Integer> order = IntStream.range(0, classes).boxed()
                    .sorted(Comparator.comparingDouble((Integer c) -> -scores[q * classes + c]).thenComparingInt(c -> c)).toList();
            if (order.subList(0, top).contains(labels[i])) hits++;
        }
        return hits / (double) labels.length;
    }

    @Test
    void voteRanksBreakTiesByClassIndexAndTop5CoversFewClasses() {
        double[] scores = {1, 3, 3, 0};
        assertEquals(1, Knn.rank(scores, 0, 4, 2));
        assertEquals(0, Knn.rank(scores, 0, 4, 1));
        assertEquals(3, Knn.rank(scores, 0, 4, 3));
        KnnResult r = Knn.accuracy(scores, new int[] {3}, 4);
        assertEquals(0.0, r.top1());
        assertEquals(1.0, r.top5());
    }

    @Test
    void nonFiniteFeaturesCountAsZeroVectors() {
        float[] bank = {1, 0, Float.NaN, 1, 0, 1};
        double[] s = Knn.scores(bank, new int[] {0, 1, 1}, new float[] {1, 0}, 2, 2, 1, 0.1, 1, SimilarityKernel.pick());
        assertEquals(Math.exp(10), s[0], 1e-6 * Math.exp(10));
        assertEquals(0.0, s[1]);
    }

    @Test
    void refusesInconsistentArguments() {
        float[] x = new float[8];
        assertThrows(IllegalArgumentException.class, () -> Knn.evaluate(x, new int[3], x, new int[2], 4, 2, 5, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> Knn.evaluate(x, new int[] {0, 2}, x, new int[2], 4, 2, 5, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> Knn.evaluate(x, new int[2], x, new int[2], 3, 2, 5, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> Knn.evaluate(x, new int[2], x, new int[2], 4, 2, 0, 0.1, 1));
        assertThrows(IllegalArgumentException.class, () -> Knn.evaluate(x, new int[2], x, new int[2], 4, 2, 5, 0, 1));
    }

    @Test
    void topKKeepsTheLargestThroughManySelections() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int k : new int[] {1, 3, 200}) {
            TopK top = new TopK(k);
            float[] v = new float[5000];
            // coarse values, so that many tie
            for (int i = 0; i < v.length; i++) {
                v[i] = rng.nextInt(300) / 10f;
                top.offer(v[i], i);
            }
            top.finish();
            float[] kept = new float[top.size()];
            for (int j = 0; j < kept.length; j++) {
                kept[j] = top.sim(j);
                assertEquals(v[top.index(j)], kept[j]);
            }
            Arrays.sort(kept);
            float[] sorted = v.clone();
            Arrays.sort(sorted);
            assertArrayEquals(Arrays.copyOfRange(sorted, sorted.length - k, sorted.length), kept);
        }
        TopK few = new TopK(10);
        few.offer(1f, 0);
        few.offer(2f, 1);
        few.finish();
        assertEquals(2, few.size());
    }
}
