package mocoref.eval;

import mocoref.parallel.WorkerPool;

import java.util.Random;


/**
 * {@link LinearClassifier} as plain loops, one row and one class at a time (its code until
 * 2026-12-02): the definition whose bits the blocked and vectorized classifier must reproduce
 * ({@link LinearClassifierBlockedTest}).
 */
final class PlainLinearClassifier {
    /** Rows per task of the first phase. */
    private static final int ROWS_PER_TASK = 32;

    final int inFeatures;
    final int classes;
    /** [classes, inFeatures], torch's {@code fc.weight}. */
    final double[] weight;
    /** [classes]. */
    final double[] bias;
    private final double[] weightBuffer;
    private final double[] biasBuffer;
    private final double momentum;
    private final double weightDecay;
    private final WorkerPool pool;

    // scratch of the step in flight, grown on demand
    private double[] dLogits = new double[0];
    private double[] rowLoss = new double[0];
    private boolean[] rowCorrect = new boolean[0];

    /** main_lincls.py's initialization from {@code seed}: weight N(0, 0.01), bias 0. */
    PlainLinearClassifier(int inFeatures, int classes, double momentum, double weightDecay, long seed, int threads) {
        if (inFeatures < 1 || classes < 1) throw new IllegalArgumentException("need inFeatures, classes >= 1, got " + inFeatures + ", " + classes);
        this.inFeatures = inFeatures;
        this.classes = classes;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.pool = WorkerPool.shared(threads);
        weight = new double[classes * inFeatures];
        bias = new double[classes];
        weightBuffer = new double[weight.length];
        biasBuffer = new double[classes];
        Random rng = new Random(seed);
        for (int i = 0; i < weight.length; i++) weight[i] = 0.01 * rng.nextGaussian();
    }

    /** What one step saw: the batch's mean loss and how many rows the classifier got right before the update. */
    public record StepStats(double loss, int correct, int rows) {}

    /**
     * One SGD step on a batch: row i of the batch is row {@code rows[i]} of {@code x}
     * [*, inFeatures], with label {@code labels[rows[i]]}.
     */
    public StepStats step(float[] x, int[] rows, int[] labels, double lr) {
        int b = rows.length;
        if (b == 0) throw new IllegalArgumentException("empty batch");
        if (dLogits.length < b * classes) {
            dLogits = new double[b * classes];
            rowLoss = new double[b];
            rowCorrect = new boolean[b];
        }
        double[] g = dLogits;
        pool.forEach((b + ROWS_PER_TASK - 1) / ROWS_PER_TASK, (task, worker) -> {
            double[] logits = new double[classes];
            for (int i = task * ROWS_PER_TASK; i < Math.min(b, (task + 1) * ROWS_PER_TASK); i++) {
                int label = labels[rows[i]];
                logits(x, rows[i], logits);
                rowCorrect[i] = Knn.rank(logits, 0, classes, label) == 0;
                // softmax cross-entropy, shifted by the max so that exp cannot overflow
                double max = Double.NEGATIVE_INFINITY;
                for (double v : logits) max = Math.max(max, v);
                double sum = 0;
                for (int k = 0; k < classes; k++) sum += Math.exp(logits[k] - max);
                double logSum = max + Math.log(sum);
                rowLoss[i] = logSum - logits[label];
                for (int k = 0; k < classes; k++) {
                    double p = Math.exp(logits[k] - logSum);
                    g[i * classes + k] = ((k == label ? p - 1 : p)) / b; // d(mean loss)/d logit
                }
            }
        });
        pool.forEach(classes, (k, worker) -> {
            double[] dw = new double[inFeatures];
            double db = 0;
            for (int i = 0; i < b; i++) {
                double gi = g[i * classes + k];
                db += gi;
                int off = rows[i] * inFeatures;
                for (int t = 0; t < inFeatures; t++) dw[t] += gi * x[off + t];
            }
            int w0 = k * inFeatures;
            for (int t = 0; t < inFeatures; t++) {
                double d = dw[t] + weightDecay * weight[w0 + t];
                weightBuffer[w0 + t] = momentum * weightBuffer[w0 + t] + d;
                weight[w0 + t] -= lr * weightBuffer[w0 + t];
            }
            double d = db + weightDecay * bias[k];
            biasBuffer[k] = momentum * biasBuffer[k] + d;
            bias[k] -= lr * biasBuffer[k];
        });
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < b; i++) {
            loss += rowLoss[i];
            if (rowCorrect[i]) correct++;
        }
        return new StepStats(loss / b, correct, b);
    }

    /** Logits of row {@code row} of {@code x}: {@code weight . x + bias}. */
    void logits(float[] x, int row, double[] out) {
        int off = row * inFeatures;
        for (int k = 0; k < classes; k++) {
            int w0 = k * inFeatures;
            double s0 = 0;
            double s1 = 0;
            int t = 0;
            // two partial sums: the loop is bound by the add latency otherwise
            for (; t + 1 < inFeatures; t += 2) {
                s0 += weight[w0 + t] * x[off + t];
                s1 += weight[w0 + t + 1] * x[off + t + 1];
            }
            if (t < inFeatures) s0 += weight[w0 + t] * x[off + t];
            out[k] = s0 + s1 + bias[k];
        }
    }

    /** Top-1 and top-5 accuracy (fractions) on {@code n} rows of {@code x}; ties go to the lower class, as in {@link Knn}. */
    public Accuracy evaluate(float[] x, int[] labels, int n) {
        if (n < 1) throw new IllegalArgumentException("nothing to evaluate");
        int tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int[] top1 = new int[tasks];
        int[] top5 = new int[tasks];
        pool.forEach(tasks, (task, worker) -> {
            double[] logits = new double[classes];
            for (int i = task * ROWS_PER_TASK; i < Math.min(n, (task + 1) * ROWS_PER_TASK); i++) {
                logits(x, i, logits);
                int rank = Knn.rank(logits, 0, classes, labels[i]);
                if (rank == 0) top1[task]++;
                if (rank < 5) top5[task]++;
            }
        });
        long c1 = 0;
        long c5 = 0;
        for (int t = 0; t < tasks; t++) {
            c1 += top1[t];
            c5 += top5[t];
        }
        return new Accuracy((double) c1 / n, (double) c5 / n);
    }
}
