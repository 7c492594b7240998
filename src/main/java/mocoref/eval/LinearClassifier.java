package mocoref.eval;

import mocoref.parallel.WorkerPool;

import java.util.Random;


/**
 * main_lincls.py's classifier on frozen features: {@code fc} = Linear(inFeatures, classes),
 * initialized N(0, 0.01) with bias 0, trained by softmax cross-entropy (mean over the batch) and
 * PyTorch's SGD with momentum ({@code buf = momentum*buf + grad + wd*w; w -= lr*buf}, dampening 0,
 * no Nesterov; a zero buffer makes the first step {@code buf = grad}, as PyTorch's).
 *
 * <p>float64 throughout (the features are float32): the layer is small next to the encoder, and
 * float64 makes its gradient check exact enough to be a real test. A step runs in two parallel
 * phases whose results do not depend on the thread count: blocks of rows of the batch (logits,
 * softmax, the gradient of the loss with respect to the logits), then blocks of features (each
 * weight's gradient summed over the batch in row order, and its SGD update).
 *
 * <p>Every sum runs in the order of the plain loops (a logit: the even features in one partial sum
 * and the odd ones in another, then their sum, then the bias; a weight's gradient: rows in batch
 * order), with separate multiplies and adds as Java's scalar arithmetic does; the loops are laid out
 * so that C2 vectorizes them across rows (logits: a block of rows transposed, features x rows) and
 * across features (gradients: each row read once for all classes), which made the raw-pixel
 * probe of a training run (784 features, 220 epochs of 54000-60000 rows) several times faster.
 */
public final class LinearClassifier {
    /** Rows per task of the first phase (and of {@link #evaluate}): one block of transposed rows. */
    private static final int ROWS_PER_TASK = 32;
    /**
     * Features per task of the second phase (at most 64, a multiple of 8, as many tasks as a multiple
     * of the threads): their gradients for every class stay in L1 while the batch streams by. Only the
     * work's split depends on the thread count; every sum is the same.
     */
    private final int featuresPerTask;
    /** Rows whose products the gradient adds to a weight while it sits in a register. */
    private static final int ROWS_PER_GRADIENT = 4;

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
    /** Per worker: a block of rows transposed [inFeatures][ROWS_PER_TASK] and the block's logits. */
    private final double[][] transposed, blockLogits;
    private final int[][] rowOffsets;
    /** Per worker: a block of features' gradients [classes][featuresPerTask], and a few rows' features as doubles. */
    private final double[][] gradBlock, rowBlock;
    private static final ProbeKernel KERNEL = ProbeKernel.pick();

    /** main_lincls.py's initialization from {@code seed}: weight N(0, 0.01), bias 0. */
    public LinearClassifier(int inFeatures, int classes, double momentum, double weightDecay, long seed, int threads) {
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
        int workers = pool.threads();
        int tasks = (inFeatures + 63) / 64;
        tasks = (tasks + workers - 1) / workers * workers;
        featuresPerTask = ((inFeatures + tasks - 1) / tasks + 7) / 8 * 8;
        transposed = WorkerPool.scratchDoubles(workers, inFeatures * ROWS_PER_TASK);
        blockLogits = WorkerPool.scratchDoubles(workers, ROWS_PER_TASK * classes);
        rowOffsets = new int[workers][ROWS_PER_TASK];
        gradBlock = WorkerPool.scratchDoubles(workers, classes * featuresPerTask);
        rowBlock = WorkerPool.scratchDoubles(workers, ROWS_PER_GRADIENT * featuresPerTask);
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
            int from = task * ROWS_PER_TASK, to = Math.min(b, from + ROWS_PER_TASK);
            double[] logits = blockLogits[worker];
            logits(x, rows, from, to, worker);
            for (int i = from; i < to; i++) {
                int label = labels[rows[i]], l0 = (i - from) * classes;
                rowCorrect[i] = Knn.rank(logits, l0, classes, label) == 0;
                // softmax cross-entropy, shifted by the max so that exp cannot overflow
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < classes; k++) max = Math.max(max, logits[l0 + k]);
                double sum = 0;
                for (int k = 0; k < classes; k++) sum += Math.exp(logits[l0 + k] - max);
                double logSum = max + Math.log(sum);
                rowLoss[i] = logSum - logits[l0 + label];
                for (int k = 0; k < classes; k++) {
                    double p = Math.exp(logits[l0 + k] - logSum);
                    g[i * classes + k] = ((k == label ? p - 1 : p)) / b; // d(mean loss)/d logit
                }
            }
        });
        pool.forEach((inFeatures + featuresPerTask - 1) / featuresPerTask, (task, worker) -> {
            int t0 = task * featuresPerTask, width = Math.min(inFeatures, t0 + featuresPerTask) - t0;
            double[] dw = gradBlock[worker], xd = rowBlock[worker]; // dw [classes][featuresPerTask]
            java.util.Arrays.fill(dw, 0.0);
            for (int i0 = 0; i0 < b; i0 += ROWS_PER_GRADIENT) { // rows in batch order: each weight's sum in the plain loop's order
                int count = Math.min(ROWS_PER_GRADIENT, b - i0);
                for (int q = 0; q < count; q++) KERNEL.toDoubles(x, rows[i0 + q] * inFeatures + t0, xd, q * featuresPerTask, width);
                for (int k = 0; k < classes; k++) {
                    KERNEL.axpyRows(g, i0 * classes + k, classes, count, xd, featuresPerTask, dw, k * featuresPerTask, width);
                }
            }
            for (int k = 0; k < classes; k++) {
                int w0 = k * inFeatures + t0, d0 = k * featuresPerTask;
                for (int t = 0; t < width; t++) {
                    double d = dw[d0 + t] + weightDecay * weight[w0 + t];
                    weightBuffer[w0 + t] = momentum * weightBuffer[w0 + t] + d;
                    weight[w0 + t] -= lr * weightBuffer[w0 + t];
                }
            }
        });
        for (int k = 0; k < classes; k++) {
            double db = 0;
            for (int i = 0; i < b; i++) db += g[i * classes + k];
            double d = db + weightDecay * bias[k];
            biasBuffer[k] = momentum * biasBuffer[k] + d;
            bias[k] -= lr * biasBuffer[k];
        }
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < b; i++) {
            loss += rowLoss[i];
            if (rowCorrect[i]) correct++;
        }
        return new StepStats(loss / b, correct, b);
    }

    /**
     * Logits of the rows {@code rows[from..to)} of {@code x} (rows {@code from..to} themselves when
     * {@code rows} is null) into {@code blockLogits[worker]} [row - from][class]: per row and class,
     * {@code weight . x + bias} as the even features' and the odd features' partial sums in feature
     * order, then their sum, then the bias (the plain loop's order), for the block's rows side by side.
     */
    private void logits(float[] x, int[] rows, int from, int to, int worker) {
        int r = to - from;
        double[] xt = transposed[worker], out = blockLogits[worker];
        int[] offsets = rowOffsets[worker];
        for (int j = 0; j < r; j++) offsets[j] = (rows == null ? from + j : rows[from + j]) * inFeatures;
        for (int t = 0; t < inFeatures; t++) { // writes in order; the reads walk r rows a line at a time
            int e = t * r;
            for (int j = 0; j < r; j++) xt[e + j] = x[offsets[j] + t];
        }
        for (int k = 0; k < classes; k++) KERNEL.logits(weight, k * inFeatures, inFeatures, xt, r, bias[k], out, k, classes);
    }

    /** Top-1 and top-5 accuracy (fractions) on {@code n} rows of {@code x}; ties go to the lower class, as in {@link Knn}. */
    public Accuracy evaluate(float[] x, int[] labels, int n) {
        if (n < 1) throw new IllegalArgumentException("nothing to evaluate");
        int tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int[] top1 = new int[tasks];
        int[] top5 = new int[tasks];
        pool.forEach(tasks, (task, worker) -> {
            int from = task * ROWS_PER_TASK, to = Math.min(n, from + ROWS_PER_TASK);
            double[] logits = blockLogits[worker];
            logits(x, null, from, to, worker);
            for (int i = from; i < to; i++) {
                int rank = Knn.rank(logits, (i - from) * classes, classes, labels[i]);
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
