package mocoref.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Times the linear probe's epoch ({@link LinearClassifier#step} over every batch, then
 * {@link LinearClassifier#evaluate} on the test rows) at the raw-pixel baseline's size (54000 rows
 * of 784 features, batch 256, 10 classes, 10000 test rows) on random data; not a test. Prints the
 * median epoch.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.eval.ProbeTiming [threads] [epochs] [rows] [features]</pre>
 */
public final class ProbeTiming {
    private ProbeTiming() {}

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 12;
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 54_000;
        int features = args.length > 3 ? Integer.parseInt(args[3]) : 784;
        int testRows = 10_000, classes = 10, batch = 256;
        SplittableRandom rng = new SplittableRandom(1);
        float[] x = new float[n * features], test = new float[testRows * features];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextDouble();
        for (int i = 0; i < test.length; i++) test[i] = (float) rng.nextDouble();
        int[] labels = new int[n], testLabels = new int[testRows];
        for (int i = 0; i < n; i++) labels[i] = rng.nextInt(classes);
        for (int i = 0; i < testRows; i++) testLabels[i] = rng.nextInt(classes);
        LinearClassifier fc = new LinearClassifier(features, classes, 0.9, 0, 1, threads);
        double[] ms = new double[epochs];
        double[] evalMs = new double[epochs];
        for (int e = 0; e < epochs; e++) {
            int[] order = LinearEval.order(n, 1, e);
            long t0 = System.nanoTime();
            for (int start = 0; start < n; start += batch) {
                fc.step(x, Arrays.copyOfRange(order, start, Math.min(n, start + batch)), labels, 0.1);
            }
            long t1 = System.nanoTime();
            fc.evaluate(test, testLabels, testRows);
            long t2 = System.nanoTime();
            ms[e] = (t1 - t0) / 1e6;
            evalMs[e] = (t2 - t1) / 1e6;
        }
        Arrays.sort(ms);
        Arrays.sort(evalMs);
        System.out.printf("%d rows x %d features, %d threads: training epoch median %.1f ms (min %.1f), evaluation %.1f ms%n",
                n, features, threads, ms[epochs / 2], ms[0], evalMs[epochs / 2]);
        // the held-out search over the default grid: every try alone (as before the tenth sitting) against all at once
        FeatureExtractor.Features fit = new FeatureExtractor.Features(x, null, labels, n, features, 0);
        FeatureExtractor.Features held = new FeatureExtractor.Features(test, null, testLabels, testRows, features, 0);
        int gridEpochs = 2;
        LinearEval.Settings s = new LinearEval.Settings(gridEpochs, 1, LinearEval.defaultMilestones(gridEpochs), batch, 0.9, 0, 1, threads);
        for (int round = 0; round < 2; round++) {
            long t0 = System.nanoTime();
            for (double lr : LinearEval.GRID_LR) {
                for (double wd : LinearEval.GRID_WD) {
                    LinearEval.cached(fit, held, classes, new LinearEval.Settings(gridEpochs, lr, s.milestones(), batch, 0.9, wd, 1, threads), e -> { });
                }
            }
            long t1 = System.nanoTime();
            LinearEval.heldOutGrid(fit, held, classes, s, LinearEval.GRID_LR, LinearEval.GRID_WD, gridEpochs, () -> { });
            long t2 = System.nanoTime();
            int tries = LinearEval.GRID_LR.length * LinearEval.GRID_WD.length;
            System.out.printf("grid of %d tries x %d epochs: one try after another %.0f ms, all at once %.0f ms (%.2fx)%n", tries, gridEpochs,
                    (t1 - t0) / 1e6, (t2 - t1) / 1e6, (double) (t1 - t0) / (t2 - t1));
        }
    }
}
