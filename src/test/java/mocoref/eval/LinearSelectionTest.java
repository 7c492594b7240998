package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The linear probe's choice on held-out data ({@link LinearEval#selected}): on a synthetic problem
 * with a planted grid (a learning rate too small to learn in the epochs given, one that diverges,
 * one that works; a weight decay that wipes the weights out and none), it picks the pair that is
 * best on the held-out rows, which the test recomputes independently, and the held-out rows are a
 * class-balanced tenth of the train set, disjoint from the rows it fits on.
 */
class LinearSelectionTest {
    /** Two Gaussian classes in d dimensions, means +-2 on the first axis: separable enough to learn fast. */
    static FeatureExtractor.Features blobs(int n, int d, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n * d];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 2;
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (rng.nextGaussian() + (j == 0 ? (labels[i] == 0 ? -2.0 : 2.0) : 0));
        }
        return new FeatureExtractor.Features(x, null, labels, n, d, 0);
    }

    @Test
    void picksTheBestPairOnHeldOutRows() {
        FeatureExtractor.Features train = blobs(600, 8, 1), test = blobs(200, 8, 2);
        double[] lrs = {1e-5, 0.5, 1e4}, wds = {0, 1e3};
        LinearEval.Settings s = new LinearEval.Settings(20, 30, LinearEval.defaultMilestones(20), 64, 0.9, 0, 7, 2);
        LinearEval.Selection sel = LinearEval.selected(train, test, 2, s, lrs, wds, 6, line -> { });
        // recompute every try on the same split, independently of the selection's bookkeeping
        int[][] split = LinearEval.holdOut(train.labels(), train.n(), 2, LinearEval.HOLD_OUT, 7);
        FeatureExtractor.Features fit = LinearEval.rows(train, split[0]), held = LinearEval.rows(train, split[1]);
        double best = -1;
        double bestLr = Double.NaN, bestWd = Double.NaN;
        for (double lr : lrs) {
            for (double wd : wds) {
                double acc = LinearEval.cached(fit, held, 2, new LinearEval.Settings(6, lr, LinearEval.defaultMilestones(6), 64, 0.9, wd, 7, 2),
                        e -> { }).last().top1();
                if (acc > best) {
                    best = acc;
                    bestLr = lr;
                    bestWd = wd;
                }
            }
        }
        assertEquals(0.5, bestLr, "the planted grid: only lr 0.5 learns in 6 epochs without diverging: " + Arrays.toString(sel.heldOutTop1()));
        assertEquals(0.0, bestWd, "lr x wd = 500 makes the weights blow up");
        assertEquals(bestLr, sel.lr());
        assertEquals(bestWd, sel.weightDecay());
        assertEquals(best, Arrays.stream(sel.heldOutTop1()).max().orElse(-1), 1e-15);
        assertTrue(best > 0.9, "the chosen pair learned: " + best);
        assertTrue(sel.result().last().top1() > 0.9, "retrained on all rows and tested: " + sel.result().last().top1());
    }

    @Test
    void theGridTrainedAtOnceIsEveryTryAloneToTheBit() {
        // 3 classes, 40 features, 500 rows: several row blocks, feature tasks and a ragged last batch
        SplittableRandom rng = new SplittableRandom(11);
        int n = 500, d = 40, classes = 3;
        FeatureExtractor.Features fit = blobsOf(rng, n, d, classes), held = blobsOf(rng, 120, d, classes);
        float[] x = fit.features();
        int[] labels = fit.labels();
        double[] lrs = {0.01, 0.3, 3}, wds = {0, 1e-3};
        for (int threads : new int[] {1, 2}) {
            LinearEval.Settings s = new LinearEval.Settings(5, 30, LinearEval.defaultMilestones(5), 64, 0.9, 0, 3, threads);
            int[] epochsDone = {0};
            double[] grid = LinearEval.heldOutGrid(fit, held, classes, s, lrs, wds, 5, () -> epochsDone[0]++);
            assertEquals(lrs.length * wds.length * 5, epochsDone[0], "progress: one unit per try and epoch");
            for (int i = 0; i < lrs.length; i++) {
                for (int j = 0; j < wds.length; j++) {
                    LinearEval.Settings alone = new LinearEval.Settings(5, lrs[i], LinearEval.defaultMilestones(5), 64, 0.9, wds[j], 3, threads);
                    double top1 = LinearEval.cached(fit, held, classes, alone, e -> { }).last().top1();
                    assertEquals(top1, grid[i * wds.length + j], 0.0, "lr " + lrs[i] + " wd " + wds[j] + ", " + threads + " threads");
                }
            }
        }
        // and the weights themselves: two classifiers in one against each alone, step by step
        LinearClassifier both = new LinearClassifier(d, classes, 0.9, new double[] {0, 1e-2}, 5, 2);
        LinearClassifier first = new LinearClassifier(d, classes, 0.9, 0, 5, 2), second = new LinearClassifier(d, classes, 0.9, 1e-2, 5, 2);
        for (int start = 0; start < n; start += 96) {
            int[] rows = java.util.stream.IntStream.range(start, Math.min(n, start + 96)).toArray();
            LinearClassifier.StepStats[] st = both.step(x, rows, labels, new double[] {0.5, 2});
            assertEquals(first.step(x, rows, labels, 0.5), st[0]);
            assertEquals(second.step(x, rows, labels, 2), st[1]);
        }
        int block = classes * d;
        assertArrayEquals(first.weight, Arrays.copyOfRange(both.weight, 0, block));
        assertArrayEquals(second.weight, Arrays.copyOfRange(both.weight, block, 2 * block));
        assertArrayEquals(first.bias, Arrays.copyOfRange(both.bias, 0, classes));
        assertArrayEquals(second.bias, Arrays.copyOfRange(both.bias, classes, 2 * classes));
        Accuracy[] acc = both.evaluateAll(x, labels, n);
        assertEquals(first.evaluate(x, labels, n), acc[0]);
        assertEquals(second.evaluate(x, labels, n), acc[1]);
    }

    /** n rows of d features, label i % classes, feature j raised by 0.7 where j % classes is the label. */
    private static FeatureExtractor.Features blobsOf(SplittableRandom rng, int n, int d, int classes) {
        float[] x = new float[n * d];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % classes;
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (rng.nextGaussian() + (j % classes == labels[i] ? 0.7 : 0));
        }
        return new FeatureExtractor.Features(x, null, labels, n, d, 0);
    }

    @Test
    void holdsOutABalancedTenthDisjointFromTheFitRows() {
        int[] labels = new int[1000];
        for (int i = 0; i < labels.length; i++) labels[i] = (i * 7) % 5;
        int[][] split = LinearEval.holdOut(labels, 1000, 5, 0.1, 3);
        assertEquals(900, split[0].length);
        assertEquals(100, split[1].length);
        int[] perClass = new int[5];
        for (int r : split[1]) perClass[labels[r]]++;
        for (int c : perClass) assertEquals(20, c, Arrays.toString(perClass));
        boolean[] seen = new boolean[1000];
        for (int[] part : split) for (int r : part) {
            assertTrue(!seen[r], "row " + r + " in both parts");
            seen[r] = true;
        }
        assertEquals(split[1][0], LinearEval.holdOut(labels, 1000, 5, 0.1, 3)[1][0], "seeded");
    }
}
