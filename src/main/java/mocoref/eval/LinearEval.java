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
