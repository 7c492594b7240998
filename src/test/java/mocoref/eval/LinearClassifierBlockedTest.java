package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The probe's blocked, vectorized classifier computes the plain loops' numbers bit for bit: steps
 * (loss, rows right, weights, bias, momentum) and evaluation, on feature counts that are and are
 * not multiples of a vector or of a task, batches that fill a block of rows or leave a ragged one,
 * one and two threads; and its two kernels agree with each other lane for lane.
 */
class LinearClassifierBlockedTest {
    @Test
    void stepsAndEvaluationAreThePlainLoopsBitForBit() {
        // {features, classes, batch, threads}
        for (int[] c : new int[][] {{784, 10, 256, 1}, {785, 10, 37, 2}, {13, 3, 100, 2}, {128, 10, 256, 2}, {1, 2, 5, 1}, {200, 7, 33, 2}}) {
            int features = c[0], classes = c[1], batch = c[2], threads = c[3], n = 700;
            Random rng = new Random(features);
            float[] x = new float[n * features];
            for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = rng.nextInt(classes);
            LinearClassifier blocked = new LinearClassifier(features, classes, 0.9, 1e-4, 5, threads);
            PlainLinearClassifier plain = new PlainLinearClassifier(features, classes, 0.9, 1e-4, 5, threads);
            String what = java.util.Arrays.toString(c);
            for (int s = 0; s < 12; s++) {
                int[] rows = new int[batch];
                for (int i = 0; i < batch; i++) rows[i] = rng.nextInt(n);
                LinearClassifier.StepStats a = blocked.step(x, rows, labels, 0.3);
                PlainLinearClassifier.StepStats b = plain.step(x, rows, labels, 0.3);
                assertEquals(b.loss(), a.loss(), 0.0, what);
                assertEquals(b.correct(), a.correct(), what);
            }
            assertArrayEquals(plain.weight, blocked.weight, 0.0, what);
            assertArrayEquals(plain.bias, blocked.bias, 0.0, what);
            assertEquals(plain.evaluate(x, labels, n), blocked.evaluate(x, labels, n), what);
        }
    }

    @Test
    void vectorAndScalarKernelsAgreeBitForBit() {
        ProbeKernel vector = ProbeKernel.pick(), scalar = new ScalarProbeKernel();
        Random rng = new Random(3);
        for (int features : new int[] {1, 2, 7, 64, 785}) {
            for (int r : new int[] {1, 5, 8, 32}) {
                double[] w = gaussians(rng, features + 3), xt = gaussians(rng, features * r);
                double[] a = new double[r * 4], b = new double[r * 4];
                vector.logits(w, 3, features, xt, r, 0.25, a, 1, 4);
                scalar.logits(w, 3, features, xt, r, 0.25, b, 1, 4);
                assertArrayEquals(b, a, 0.0, "logits " + features + " x " + r);
                double[] g = gaussians(rng, 12), x = gaussians(rng, 3 * features), dwA = gaussians(rng, features + 2), dwB = dwA.clone();
                vector.axpyRows(g, 1, 4, 3, x, features, dwA, 2, features);
                scalar.axpyRows(g, 1, 4, 3, x, features, dwB, 2, features);
                assertArrayEquals(dwB, dwA, 0.0, "axpyRows " + features);
                float[] f = new float[features + 1];
                for (int i = 0; i < f.length; i++) f[i] = (float) rng.nextGaussian();
                double[] da = new double[features + 2], db = new double[features + 2];
                vector.toDoubles(f, 1, da, 2, features);
                scalar.toDoubles(f, 1, db, 2, features);
                assertArrayEquals(db, da, 0.0, "toDoubles " + features);
            }
        }
    }

    private static double[] gaussians(Random rng, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextGaussian();
        return v;
    }
}
