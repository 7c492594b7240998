package mocoref.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.data.Dataset;
import mocoref.data.SampleSeeds;
import mocoref.data.augment.Compose;
import mocoref.data.augment.Image;
import mocoref.data.augment.Normalize;
import mocoref.data.augment.RandomHorizontalFlip;
import mocoref.data.augment.RandomResizedCrop;
import mocoref.data.augment.Transform;

/**
 * main_lincls.py's linear classification protocol on a frozen encoder in eval mode: a fresh
 * {@link LinearClassifier} on the global-pooled features, SGD (lr 30, momentum 0.9, weight decay 0,
 * batch 256, the last partial batch kept), the learning rate x0.1 at each milestone (60% and 80% of
 * the epochs by default), a seeded shuffle each epoch; after every epoch the top-1 and top-5
 * accuracy on the un-augmented test set, whose features are therefore extracted once.
 *
 * <p>Two ways to get the training features: {@link #augmented} is the protocol itself (every epoch
 * a new RandomResizedCrop + flip of every image through the encoder); {@link #cached} extracts the
 * un-augmented features once and trains on them, which is many epochs in seconds and usually a
 * little below the augmented result.
 */
public final class LinearEval {
    private LinearEval() {}

    /**
     * @param milestones epochs at whose start the learning rate is multiplied by 0.1 (main_lincls.py's {@code --schedule})
     */
    public record Settings(int epochs, double lr, int[] milestones, int batchSize, double momentum, double weightDecay, long seed,
            int threads) {
        public Settings {
            if (epochs < 1) throw new IllegalArgumentException("epochs must be positive, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
            if (threads < 1) throw new IllegalArgumentException("threads must be positive, got " + threads);
            milestones = milestones.clone();
        }

        /** main_lincls.py's defaults, its milestones 60 and 80 of 100 epochs scaled to {@code epochs}. */
        public static Settings mainLincls(int epochs, long seed, int threads) {
            return new Settings(epochs, 30, defaultMilestones(epochs), 256, 0.9, 0, seed, threads);
        }
    }

    /** One epoch's record: its learning rate, mean training loss and top-1, and the test accuracy after it. */
    public record Epoch(int epoch, double lr, double loss, double trainTop1, Accuracy test) {}

    /** The accuracy after the last epoch, the best top-1 over the epochs (what main_lincls.py reports as best_acc1), and every epoch. */
    public record Result(Accuracy last, Accuracy best, int bestEpoch, List<Epoch> epochs) {}

    /** 60% and 80% of {@code epochs}, rounded: main_lincls.py's 60 and 80 of 100. */
    public static int[] defaultMilestones(int epochs) {
        return new int[] {(int) Math.round(0.6 * epochs), (int) Math.round(0.8 * epochs)};
    }

    /** main_lincls.py's {@code adjust_learning_rate}: x0.1 for every milestone already reached (epochs count from 0). */
    public static double learningRate(double lr, int[] milestones, int epoch) {
        double out = lr;
        for (int m : milestones) if (epoch >= m) out *= 0.1;
        return out;
    }

    /** main_lincls.py's training augmentation: RandomResizedCrop(size, scale minScale-1, ratio 3/4-4/3), flip, normalize. */
    public static Transform augmentation(int size, double minScale, Normalize normalize) {
        return Compose.of(new RandomResizedCrop(size, minScale, 1.0, 3.0 / 4.0, 4.0 / 3.0), new RandomHorizontalFlip(0.5), normalize);
    }

    /** The fast variant: the classifier trains on {@code train}'s fixed, un-augmented features. */
    public static Result cached(FeatureExtractor.Features train, FeatureExtractor.Features test, int classes, Settings s,
            Consumer<Epoch> log) {
        return run(train.n(), train.featureDim(), test, classes, s, log,
                (epoch, position, indices) -> new Batch(train.features(), indices, train.labels()));
    }

    /**
     * The protocol: every batch of every epoch freshly augmented and encoded. The next batch is
     * augmented on a background thread while the encoder runs on the current one; sample
     * {@code p} of epoch {@code e} draws from its own generator ({@link SampleSeeds}), so the result
     * does not depend on that timing.
     */
    public static Result augmented(Encoder encoder, Dataset train, Transform augmentation, FeatureExtractor.Features test,
            int classes, Settings s, Consumer<Epoch> log) {
        ExecutorService background = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "moco-lincls-augment");
            t.setDaemon(true);
            return t;
        });
        try {
            Prefetcher prefetch = new Prefetcher(train, augmentation, s.seed(), background);
            return run(train.n(), test.featureDim(), test, classes, s, log, (epoch, position, indices) -> {
                AugmentedImages images = prefetch.take(epoch, position, indices);
                Encoder.Encoded e = encoder.encode(ImageBatch.of(images.data, indices.length, images.channels,
                        images.size, images.size));
                int[] rows = new int[indices.length];
                int[] labels = new int[indices.length];
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = i;
                    labels[i] = train.labels()[indices[i]];
                }
                return new Batch(e.features(), rows, labels);
            });
        } finally {
            background.shutdownNow();
        }
    }

    /** The learning rates and weight decays {@link #selected} tries by default: log-spaced around main_lincls.py's. */
    public static final double[] GRID_LR = {0.1, 0.3, 1, 3, 10, 30};
    public static final double[] GRID_WD = {0, 1e-4};
    /** The fraction of the training set held out to choose on, and the epochs of each try. */
    public static final double HOLD_OUT = 0.1;
    public static final int SELECT_EPOCHS = 10;

    /**
     * The settings chosen on held-out data, each try's held-out top-1 (in grid order: lr major, wd
     * minor), and the result of retraining on the whole training set with the choice.
     */
    public record Selection(double lr, double weightDecay, double[] lrs, double[] wds, double[] heldOutTop1, Result result) {}

    /** Epochs {@link #selected} trains over the default grid: every held-out try's, then the final training's. */
    public static int selectionEpochs(int finalEpochs) {
        return GRID_LR.length * GRID_WD.length * SELECT_EPOCHS + finalEpochs;
    }

    /**
     * The linear probe with its learning rate and weight decay chosen on held-out data instead of
     * fixed: a class-balanced {@link #HOLD_OUT} of the training features (seeded) is set aside, a
     * classifier is trained on the rest for {@code selectEpochs} epochs (the schedule's milestones
     * scaled) with every (lr, wd) of the grid, the pair with the best held-out top-1 wins (the first
     * in grid order among equals), and the classifier is retrained on the whole training set with it
     * for {@code s.epochs()} epochs and evaluated on the test set once. The test set never takes part
     * in the choice.
     */
    public static Selection selected(FeatureExtractor.Features train, FeatureExtractor.Features test, int classes, Settings s,
                                     double[] lrs, double[] wds, int selectEpochs, Consumer<String> log) {
        return selected(train, test, classes, s, lrs, wds, selectEpochs, log, () -> { });
    }

    /** {@link #selected} calling {@code epochDone} after every epoch of every try and of the final training (for progress). */
    public static Selection selected(FeatureExtractor.Features train, FeatureExtractor.Features test, int classes, Settings s,
                                     double[] lrs, double[] wds, int selectEpochs, Consumer<String> log, Runnable epochDone) {
        int[][] split = holdOut(train.labels(), train.n(), classes, HOLD_OUT, s.seed());
        FeatureExtractor.Features fit = rows(train, split[0]), held = rows(train, split[1]);
        double[] top1 = heldOutGrid(fit, held, classes, s, lrs, wds, selectEpochs, epochDone);
        int best = 0;
        for (int i = 0; i < lrs.length; i++) {
            for (int j = 0; j < wds.length; j++) {
                int k = i * wds.length + j;
                if (top1[k] > top1[best]) best = k;
                log.accept(String.format(java.util.Locale.ROOT, "held-out: lr %s wd %s -> top-1 %.2f%% (best so far: lr %s wd %s, %.2f%%)",
                        lrs[i], wds[j], 100 * top1[k], lrs[best / wds.length], wds[best % wds.length], 100 * top1[best]));
            }
        }
        double lr = lrs[best / wds.length], wd = wds[best % wds.length];
        Settings chosen = new Settings(s.epochs(), lr, s.milestones(), s.batchSize(), s.momentum(), wd, s.seed(), s.threads());
        return new Selection(lr, wd, lrs.clone(), wds.clone(), top1, cached(train, test, classes, chosen, e -> epochDone.run()));
    }

    /**
     * Every (lr, wd) of the grid trained on {@code fit} for {@code epochs} epochs (the schedule's
     * milestones scaled) and its top-1 on {@code held} after the last epoch, in grid order (lr major):
     * what {@link #cached} with each pair's settings gives, to the bit (each try is its own classifier
     * in one {@link LinearClassifier} of the whole grid, with the same initial draw, batches and sums),
     * but each batch's rows are read once for all the tries. {@code epochDone} runs once per try and epoch.
     */
    static double[] heldOutGrid(FeatureExtractor.Features fit, FeatureExtractor.Features held, int classes, Settings s, double[] lrs,
                                double[] wds, int epochs, Runnable epochDone) {
        if (fit.n() < 1) throw new IllegalArgumentException("no training images");
        if (held.featureDim() != fit.featureDim()) throw new IllegalArgumentException("train features are " + fit.featureDim() + "-d, held-out " + held.featureDim());
        int tries = lrs.length * wds.length;
        double[] decays = new double[tries];
        for (int k = 0; k < tries; k++) decays[k] = wds[k % wds.length];
        LinearClassifier fc = new LinearClassifier(fit.featureDim(), classes, s.momentum(), decays, s.seed(), s.threads());
        int[] milestones = defaultMilestones(epochs);
        double[] lr = new double[tries];
        for (int epoch = 0; epoch < epochs; epoch++) {
            for (int k = 0; k < tries; k++) lr[k] = learningRate(lrs[k / wds.length], milestones, epoch);
            int[] order = order(fit.n(), s.seed(), epoch);
            for (int start = 0; start < fit.n(); start += s.batchSize()) {
                fc.step(fit.features(), Arrays.copyOfRange(order, start, Math.min(fit.n(), start + s.batchSize())), fit.labels(), lr);
            }
            for (int k = 0; k < tries; k++) epochDone.run();
        }
        Accuracy[] acc = fc.evaluateAll(held.features(), held.labels(), held.n());
        double[] top1 = new double[tries];
        for (int k = 0; k < tries; k++) top1[k] = acc[k].top1();
        return top1;
    }

    /**
     * {fit rows, held-out rows}: per class, a seeded shuffle of its rows, the first
     * round(fraction * count) of them held out (at least one when the class has two or more).
     */
    static int[][] holdOut(int[] labels, int n, int classes, double fraction, long seed) {
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) byClass.add(new ArrayList<>());
        for (int i = 0; i < n; i++) byClass.get(labels[i]).add(i);
        SplittableRandom rng = new SplittableRandom(seed ^ 0x686f6c646f7574L);
        boolean[] held = new boolean[n];
        for (List<Integer> rows : byClass) {
            for (int i = rows.size() - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                Integer t = rows.get(i);
                rows.set(i, rows.get(j));
                rows.set(j, t);
            }
            int k = rows.size() < 2 ? 0 : Math.max(1, (int) Math.round(fraction * rows.size()));
            for (int i = 0; i < k; i++) held[rows.get(i)] = true;
        }
        int h = 0;
        for (boolean b : held) if (b) h++;
        int[] fit = new int[n - h], out = new int[h];
        for (int i = 0, a = 0, b = 0; i < n; i++) {
            if (held[i]) out[b++] = i;
            else fit[a++] = i;
        }
        return new int[][] {fit, out};
    }

    /** The given rows of a feature set (dataset order kept). */
    static FeatureExtractor.Features rows(FeatureExtractor.Features f, int[] rows) {
        int d = f.featureDim();
        float[] x = new float[rows.length * d];
        int[] labels = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(f.features(), rows[i] * d, x, i * d, d);
            labels[i] = f.labels()[rows[i]];
        }
        return new FeatureExtractor.Features(x, null, labels, rows.length, d, 0);
    }

    /** Row i of the batch is row {@code rows[i]} of {@code x}, with label {@code labels[rows[i]]}. */
    private record Batch(float[] x, int[] rows, int[] labels) {}

    @FunctionalInterface
    private interface BatchSource {
        /** The batch of dataset rows {@code indices}, which start at {@code position} of epoch {@code epoch}'s order. */
        Batch batch(int epoch, int position, int[] indices);
    }

    private static Result run(int n, int featureDim, FeatureExtractor.Features test, int classes, Settings s, Consumer<Epoch> log,
            BatchSource source) {
        if (n < 1) throw new IllegalArgumentException("no training images");
        if (test.featureDim() != featureDim) throw new IllegalArgumentException("train features are " + featureDim + "-d, test " + test.featureDim());
        LinearClassifier fc = new LinearClassifier(featureDim, classes, s.momentum(), s.weightDecay(), s.seed(), s.threads());
        List<Epoch> epochs = new ArrayList<>();
        Accuracy best = null;
        int bestEpoch = -1;
        for (int epoch = 0; epoch < s.epochs(); epoch++) {
            double lr = learningRate(s.lr(), s.milestones(), epoch);
            int[] order = order(n, s.seed(), epoch);
            double loss = 0;
            long correct = 0;
            for (int start = 0; start < n; start += s.batchSize()) {
                int[] indices = Arrays.copyOfRange(order, start, Math.min(n, start + s.batchSize()));
                Batch b = source.batch(epoch, start, indices);
                LinearClassifier.StepStats st = fc.step(b.x(), b.rows(), b.labels(), lr);
                loss += st.loss() * st.rows();
                correct += st.correct();
            }
            Accuracy acc = fc.evaluate(test.features(), test.labels(), test.n());
            Epoch e = new Epoch(epoch, lr, loss / n, (double) correct / n, acc);
            epochs.add(e);
            if (best == null || acc.top1() > best.top1()) {
                best = acc;
                bestEpoch = epoch;
            }
            log.accept(e);
        }
        return new Result(epochs.get(epochs.size() - 1).test(), best, bestEpoch, epochs);
    }

    /** Epoch {@code epoch}'s order of the n training rows: a Fisher-Yates shuffle seeded by (seed, epoch), as the MoCo loader's. */
    static int[] order(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom rng = new SplittableRandom(SampleSeeds.shuffle(seed, epoch));
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** A batch of augmented images [n, channels, size, size]. */
    private record AugmentedImages(float[] data, int channels, int size) {}

    /** Augments the batch after the one being taken, on one background thread. */
    private static final class Prefetcher {
        private final Dataset data;
        private final Transform augmentation;
        private final long seed;
        private final ExecutorService background;
        private Future<AugmentedImages> ahead;
        private int aheadEpoch = -1;
        private int aheadPosition = -1;
        private int[] epochOrder;
        private int orderEpoch = -1;

        Prefetcher(Dataset data, Transform augmentation, long seed, ExecutorService background) {
            this.data = data;
            this.augmentation = augmentation;
            this.seed = seed;
            this.background = background;
        }

        AugmentedImages take(int epoch, int position, int[] indices) {
            AugmentedImages images;
            if (ahead != null && aheadEpoch == epoch && aheadPosition == position) {
                images = await(ahead);
            } else {
                if (ahead != null) ahead.cancel(true);
                images = augment(epoch, position, indices);
            }
            ahead = null;
            // the next batch of this epoch, known from the same order
            int next = position + indices.length;
            if (next < data.n()) {
                if (orderEpoch != epoch) {
                    epochOrder = order(data.n(), seed, epoch);
                    orderEpoch = epoch;
                }
                int[] nextIndices = Arrays.copyOfRange(epochOrder, next, Math.min(data.n(), next + indices.length));
                aheadEpoch = epoch;
                aheadPosition = next;
                ahead = background.submit(() -> augment(epoch, next, nextIndices));
            }
            return images;
        }

        private AugmentedImages augment(int epoch, int position, int[] indices) {
            float[] out = null;
            int c = 0;
            int size = 0;
            for (int i = 0; i < indices.length; i++) {
                SplittableRandom rng = new SplittableRandom(SampleSeeds.sample(seed, epoch, position + i));
                Image view = augmentation.apply(data.image(indices[i]), rng);
                if (out == null) {
                    c = view.channels();
                    size = view.height();
                    out = new float[indices.length * view.data().length];
                }
                System.arraycopy(view.data(), 0, out, i * view.data().length, view.data().length);
            }
            return new AugmentedImages(out, c, size);
        }

        private static AugmentedImages await(Future<AugmentedImages> f) {
            try {
                return f.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) throw re;
                throw new IllegalStateException("augmentation failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while augmenting", e);
            }
        }
    }
}
