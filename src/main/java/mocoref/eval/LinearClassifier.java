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
 *
 * <p>One instance may hold several independent classifiers ({@code groups}) over the same rows,
 * each with its own weight decay and learning rate: the held-out search of {@link LinearEval#selected}
 * trains its whole grid at once, so each batch's rows are read, widened and transposed once for
 * every try instead of once per try. Each group's arithmetic is that of a classifier alone (the
 * same initial draw, the same sums in the same order), so the results are the same to the bit.
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
    /** Independent classifiers side by side; {@code outputs} = groups * classes logits per row. */
    final int groups, outputs;
    /** [groups * classes, inFeatures]: group g's torch {@code fc.weight} in rows g*classes.. (g+1)*classes. */
    final double[] weight;
    /** [groups * classes]. */
    final double[] bias;
    private final double[] weightBuffer;
    private final double[] biasBuffer;
    private final double momentum;
    /** Per group. */
    private final double[] weightDecay;
    private final WorkerPool pool;

    // scratch of the step in flight, grown on demand: dLogits [row][output], rowLoss and rowCorrect [group][row]
    private double[] dLogits = new double[0];
    private double[][] rowLoss = new double[0][];
    private boolean[][] rowCorrect = new boolean[0][];
    /** Per worker: a block of rows transposed [inFeatures][ROWS_PER_TASK] and the block's logits. */
    private final double[][] transposed, blockLogits;
    private final int[][] rowOffsets;
    /** Per worker: a block of features' gradients [classes][featuresPerTask], and a few rows' features as doubles. */
    private final double[][] gradBlock, rowBlock;
    private static final ProbeKernel KERNEL = ProbeKernel.pick();

    /** main_lincls.py's initialization from {@code seed}: weight N(0, 0.01), bias 0. */
    public LinearClassifier(int inFeatures, int classes, double momentum, double weightDecay, long seed, int threads) {
        this(inFeatures, classes, momentum, new double[] {weightDecay}, seed, threads);
    }

    /**
     * One classifier per entry of {@code weightDecays}, each initialized from {@code seed} as
     * {@link #LinearClassifier(int, int, double, double, long, int)} initializes one (the same draw).
     */
    public LinearClassifier(int inFeatures, int classes, double momentum, double[] weightDecays, long seed, int threads) {
        if (inFeatures < 1 || classes < 1) throw new IllegalArgumentException("need inFeatures, classes >= 1, got " + inFeatures + ", " + classes);
        if (weightDecays.length < 1) throw new IllegalArgumentException("no classifier");
        this.inFeatures = inFeatures;
        this.classes = classes;
        this.groups = weightDecays.length;
        this.outputs = groups * classes;
        this.momentum = momentum;
        this.weightDecay = weightDecays.clone();
        this.pool = WorkerPool.shared(threads);
        weight = new double[outputs * inFeatures];
        bias = new double[outputs];
        weightBuffer = new double[weight.length];
        biasBuffer = new double[outputs];
        int block = classes * inFeatures;
        for (int g = 0; g < groups; g++) {
            Random rng = new Random(seed);
            for (int i = 0; i < block; i++) weight[g * block + i] = 0.01 * rng.nextGaussian();
        }
        int workers = pool.threads();
        int tasks = (inFeatures + 63) / 64;
        tasks = (tasks + workers - 1) / workers * workers;
        featuresPerTask = ((inFeatures + tasks - 1) / tasks + 7) / 8 * 8;
        transposed = WorkerPool.scratchDoubles(workers, inFeatures * ROWS_PER_TASK);
        blockLogits = WorkerPool.scratchDoubles(workers, ROWS_PER_TASK * outputs);
        rowOffsets = new int[workers][ROWS_PER_TASK];
        gradBlock = WorkerPool.scratchDoubles(workers, outputs * featuresPerTask);
        rowBlock = WorkerPool.scratchDoubles(workers, ROWS_PER_GRADIENT * featuresPerTask);
    }

    /** What one step saw: the batch's mean loss and how many rows the classifier got right before the update. */
    public record StepStats(double loss, int correct, int rows) {}

    /**
     * One SGD step on a batch: row i of the batch is row {@code rows[i]} of {@code x}
     * [*, inFeatures], with label {@code labels[rows[i]]}. One classifier only.
     */
    public StepStats step(float[] x, int[] rows, int[] labels, double lr) {
        if (groups != 1) throw new IllegalStateException(groups + " classifiers: give each its learning rate");
        return step(x, rows, labels, new double[] {lr})[0];
    }

    /** One SGD step of every classifier on the same batch, classifier g with learning rate {@code lrs[g]}; their stats in order. */
    public StepStats[] step(float[] x, int[] rows, int[] labels, double[] lrs) {
        int b = rows.length;
        if (b == 0) throw new IllegalArgumentException("empty batch");
        if (lrs.length != groups) throw new IllegalArgumentException(lrs.length + " learning rates for " + groups + " classifiers");
        if (dLogits.length < b * outputs || rowLoss.length == 0 || rowLoss[0].length < b) {
            dLogits = new double[b * outputs];
            rowLoss = new double[groups][b];
            rowCorrect = new boolean[groups][b];
        }
        double[] g = dLogits;
        pool.forEach((b + ROWS_PER_TASK - 1) / ROWS_PER_TASK, (task, worker) -> {
            int from = task * ROWS_PER_TASK, to = Math.min(b, from + ROWS_PER_TASK);
            double[] logits = blockLogits[worker];
            logits(x, rows, from, to, worker);
            for (int i = from; i < to; i++) {
                int label = labels[rows[i]];
                for (int group = 0; group < groups; group++) {
                    int l0 = (i - from) * outputs + group * classes, g0 = i * outputs + group * classes;
                    rowCorrect[group][i] = Knn.rank(logits, l0, classes, label) == 0;
                    // softmax cross-entropy, shifted by the max so that exp cannot overflow
                    double max = Double.NEGATIVE_INFINITY;
                    for (int k = 0; k < classes; k++) max = Math.max(max, logits[l0 + k]);
                    double sum = 0;
                    for (int k = 0; k < classes; k++) sum += Math.exp(logits[l0 + k] - max);
                    double logSum = max + Math.log(sum);
                    rowLoss[group][i] = logSum - logits[l0 + label];
                    for (int k = 0; k < classes; k++) {
                        double p = Math.exp(logits[l0 + k] - logSum);
                        g[g0 + k] = ((k == label ? p - 1 : p)) / b; // d(mean loss)/d logit
                    }
                }
            }
        });
        pool.forEach((inFeatures + featuresPerTask - 1) / featuresPerTask, (task, worker) -> {
            int t0 = task * featuresPerTask, width = Math.min(inFeatures, t0 + featuresPerTask) - t0;
            double[] dw = gradBlock[worker], xd = rowBlock[worker]; // dw [outputs][featuresPerTask]
            java.util.Arrays.fill(dw, 0.0);
            for (int i0 = 0; i0 < b; i0 += ROWS_PER_GRADIENT) { // rows in batch order: each weight's sum in the plain loop's order
                int count = Math.min(ROWS_PER_GRADIENT, b - i0);
                for (int q = 0; q < count; q++) KERNEL.toDoubles(x, rows[i0 + q] * inFeatures + t0, xd, q * featuresPerTask, width);
                for (int k = 0; k < outputs; k++) {
                    KERNEL.axpyRows(g, i0 * outputs + k, outputs, count, xd, featuresPerTask, dw, k * featuresPerTask, width);
                }
            }
            for (int k = 0; k < outputs; k++) {
                int w0 = k * inFeatures + t0, d0 = k * featuresPerTask;
                double wd = weightDecay[k / classes], lr = lrs[k / classes];
                for (int t = 0; t < width; t++) {
                    double d = dw[d0 + t] + wd * weight[w0 + t];
                    weightBuffer[w0 + t] = momentum * weightBuffer[w0 + t] + d;
                    weight[w0 + t] -= lr * weightBuffer[w0 + t];
                }
            }
        });
        for (int k = 0; k < outputs; k++) {
            double db = 0;
            for (int i = 0; i < b; i++) db += g[i * outputs + k];
            double d = db + weightDecay[k / classes] * bias[k];
            biasBuffer[k] = momentum * biasBuffer[k] + d;
            bias[k] -= lrs[k / classes] * biasBuffer[k];
        }
        StepStats[] stats = new StepStats[groups];
        for (int group = 0; group < groups; group++) {
            double loss = 0;
            int correct = 0;
            for (int i = 0; i < b; i++) {
                loss += rowLoss[group][i];
                if (rowCorrect[group][i]) correct++;
            }
            stats[group] = new StepStats(loss / b, correct, b);
        }
        return stats;
    }

    /**
     * Logits of the rows {@code rows[from..to)} of {@code x} (rows {@code from..to} themselves when
     * {@code rows} is null) into {@code blockLogits[worker]} [row - from][output]: per row and output,
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
        KERNEL.logitsClasses(weight, 0, inFeatures, outputs, inFeatures, xt, r, bias, 0, out, 0, outputs);
    }

    /** Top-1 and top-5 accuracy (fractions) on {@code n} rows of {@code x}; ties go to the lower class, as in {@link Knn}. One classifier only. */
    public Accuracy evaluate(float[] x, int[] labels, int n) {
        if (groups != 1) throw new IllegalStateException(groups + " classifiers: evaluateAll");
        return evaluateAll(x, labels, n)[0];
    }

    /** {@link #evaluate} for every classifier, in order. */
    public Accuracy[] evaluateAll(float[] x, int[] labels, int n) {
        if (n < 1) throw new IllegalArgumentException("nothing to evaluate");
        int tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        int[][] top1 = new int[groups][tasks];
        int[][] top5 = new int[groups][tasks];
        pool.forEach(tasks, (task, worker) -> {
            int from = task * ROWS_PER_TASK, to = Math.min(n, from + ROWS_PER_TASK);
            double[] logits = blockLogits[worker];
            logits(x, null, from, to, worker);
            for (int i = from; i < to; i++) {
                for (int group = 0; group < groups; group++) {
                    int rank = Knn.rank(logits, (i - from) * outputs + group * classes, classes, labels[i]);
                    if (rank == 0) top1[group][task]++;
                    if (rank < 5) top5[group][task]++;
                }
            }
        });
        Accuracy[] out = new Accuracy[groups];
        for (int group = 0; group < groups; group++) {
            long c1 = 0;
            long c5 = 0;
            for (int t = 0; t < tasks; t++) {
                c1 += top1[group][t];
                c5 += top5[group][t];
            }
            out[group] = new Accuracy((double) c1 / n, (double) c5 / n);
        }
        return out;
    }
}
