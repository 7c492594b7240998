package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The linear classifier against a textbook twin (softmax cross-entropy gradient written out, SGD
 * as PyTorch documents it), the twin against central finite differences, and the classifier
 * against itself on other thread counts.
 */
class LinearClassifierTest {
    static final int IN = 7;
    static final int CLASSES = 5;

    static float[] randomFeatures(SplittableRandom rng, int rows, int dim) {
        float[] x = new float[rows * dim];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rng.nextDouble() * 2 - 1);
        return x;
    }

    static int[] randomLabels(SplittableRandom rng, int rows, int classes) {
        int[] y = new int[rows];
        for (int i = 0; i < rows; i++) y[i] = rng.nextInt(classes);
        return y;
    }

    /** Mean cross-entropy of the batch {@code rows} under weight w [classes, in] and bias b. */
    static double loss(double[] w, double[] b, float[] x, int[] rows, int[] labels) {
        double total = 0;
        for (int row : rows) {
            double[] z = new double[CLASSES];
            for (int k = 0; k < CLASSES; k++) {
                z[k] = b[k];
                for (int t = 0; t < IN; t++) z[k] += w[k * IN + t] * x[row * IN + t];
            }
            double sum = 0;
            for (double v : z) sum += Math.exp(v);
            total += Math.log(sum) - z[labels[row]];
        }
        return total / rows.length;
    }

    /** The twin's gradient: d loss / d z = (softmax(z) - onehot) / batch; dW = sum_i dz_i x_i^T, db = sum_i dz_i. */
    static double[][] gradient(double[] w, double[] b, float[] x, int[] rows, int[] labels) {
        double[] dw = new double[w.length];
        double[] db = new double[b.length];
        for (int row : rows) {
            double[] z = new double[CLASSES];
            double sum = 0;
            for (int k = 0; k < CLASSES; k++) {
                z[k] = b[k];
                for (int t = 0; t < IN; t++) z[k] += w[k * IN + t] * x[row * IN + t];
                sum += Math.exp(z[k]);
            }
            for (int k = 0; k < CLASSES; k++) {
                double dz = (Math.exp(z[k]) / sum - (k == labels[row] ? 1 : 0)) / rows.length;
                db[k] += dz;
                for (int t = 0; t < IN; t++) dw[k * IN + t] += dz * x[row * IN + t];
            }
        }
        return new double[][] {dw, db};
    }

    @Test
    void twinGradientMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(1);
        float[] x = randomFeatures(rng, 20, IN);
        int[] labels = randomLabels(rng, 20, CLASSES);
        int[] rows = {3, 0, 17, 9, 9, 12};
        double[] w = new double[CLASSES * IN];
        double[] b = new double[CLASSES];
        for (int i = 0; i < w.length; i++) w[i] = rng.nextDouble() - 0.5;
        for (int i = 0; i < b.length; i++) b[i] = rng.nextDouble() - 0.5;
        double[][] g = gradient(w, b, x, rows, labels);
        double h = 1e-6;
        for (int i = 0; i < w.length; i++) {
            double keep = w[i];
            w[i] = keep + h;
            double up = loss(w, b, x, rows, labels);
            w[i] = keep - h;
            double down = loss(w, b, x, rows, labels);
            w[i] = keep;
            // central differences: truncation O(h^2) ~ 1e-12, rounding ~ 1e-16 / h ~ 1e-10
            assertEquals((up - down) / (2 * h), g[0][i], 1e-8, "dW[" + i + "]");
        }
    }

    @Test
    void stepsAreThoseOfPytorchSgdWithMomentumAndWeightDecay() {
        SplittableRandom rng = new SplittableRandom(2);
        float[] x = randomFeatures(rng, 40, IN);
        int[] labels = randomLabels(rng, 40, CLASSES);
        double momentum = 0.9;
        double wd = 0.01;
        LinearClassifier fc = new LinearClassifier(IN, CLASSES, momentum, wd, 3, 2);
        double[] w = fc.weight.clone();
        double[] b = fc.bias.clone();
        double[] bufW = new double[w.length];
        double[] bufB = new double[b.length];
        int[][] batches = {{0, 5, 7, 39, 12}, {1, 2, 3}, {20, 21, 22, 23, 24, 25, 26, 27}};
        double[] lrs = {0.5, 0.5, 0.05};
        for (int s = 0; s < batches.length; s++) {
            double expectedLoss = loss(w, b, x, batches[s], labels);
            double[][] g = gradient(w, b, x, batches[s], labels);
            // torch.optim.SGD: d = g + wd*p; buf = momentum*buf + d (buf = d on the first step); p -= lr*buf
            for (int i = 0; i < w.length; i++) {
                bufW[i] = s == 0 ? g[0][i] + wd * w[i] : momentum * bufW[i] + g[0][i] + wd * w[i];
                w[i] -= lrs[s] * bufW[i];
            }
            for (int k = 0; k < b.length; k++) {
                bufB[k] = s == 0 ? g[1][k] + wd * b[k] : momentum * bufB[k] + g[1][k] + wd * b[k];
                b[k] -= lrs[s] * bufB[k];
            }
            LinearClassifier.StepStats st = fc.step(x, batches[s], labels, lrs[s]);
            assertEquals(expectedLoss, st.loss(), 1e-12);
            assertEquals(batches[s].length, st.rows());
            assertArrayEquals(w, fc.weight, 1e-12);
            assertArrayEquals(b, fc.bias, 1e-12);
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        SplittableRandom rng = new SplittableRandom(4);
        int in = 130;
        int classes = 10;
        float[] x = randomFeatures(rng, 600, in);
        int[] labels = randomLabels(rng, 600, classes);
        LinearClassifier one = new LinearClassifier(in, classes, 0.9, 0, 5, 1);
        LinearClassifier two = new LinearClassifier(in, classes, 0.9, 0, 5, 2);
        for (int start = 0; start < 600; start += 256) {
            int[] rows = java.util.stream.IntStream.range(start, Math.min(600, start + 256)).toArray();
            assertEquals(one.step(x, rows, labels, 3), two.step(x, rows, labels, 3));
        }
        assertArrayEquals(one.weight, two.weight);
        assertArrayEquals(one.bias, two.bias);
        assertEquals(one.evaluate(x, labels, 600), two.evaluate(x, labels, 600));
    }

    @Test
    void initializationIsMainLinclsNormalWithStd001AndZeroBias() {
        LinearClassifier fc = new LinearClassifier(512, 100, 0.9, 0, 6, 1);
        double sum = 0;
        double sq = 0;
        for (double v : fc.weight) {
            sum += v;
            sq += v * v;
        }
        int n = fc.weight.length;
        assertEquals(0, sum / n, 3 * 0.01 / Math.sqrt(n));
        assertEquals(0.01, Math.sqrt(sq / n), 0.01 * 0.01); // std within 1% over 51200 draws
        for (double v : fc.bias) assertEquals(0.0, v);
    }

    @Test
    void evaluateCountsTop1AndTop5() {
        LinearClassifier fc = new LinearClassifier(2, 6, 0, 0, 7, 1);
        java.util.Arrays.fill(fc.weight, 0);
        // logits = bias: class 5 > 4 > 3 > 2 > 1 > 0
        for (int k = 0; k < 6; k++) fc.bias[k] = k;
        Accuracy a = fc.evaluate(new float[6 * 2], new int[] {5, 4, 3, 2, 1, 0}, 6);
        assertEquals(1.0 / 6, a.top1(), 1e-15);
        assertEquals(5.0 / 6, a.top5(), 1e-15);
    }

    @Test
    void learnsSeparableData() {
        SplittableRandom rng = new SplittableRandom(8);
        int classes = 4;
        int in = 16;
        int n = 400;
        float[] x = new float[n * in];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % classes;
            for (int t = 0; t < in; t++) x[i * in + t] = (float) ((t % classes == labels[i] ? 1 : 0) + 0.3 * (rng.nextDouble() - 0.5));
        }
        LinearClassifier fc = new LinearClassifier(in, classes, 0.9, 0, 9, 2);
        int[] all = java.util.stream.IntStream.range(0, n).toArray();
        for (int epoch = 0; epoch < 20; epoch++) fc.step(x, all, labels, 1);
        assertTrue(fc.evaluate(x, labels, n).top1() > 0.99);
    }
}
