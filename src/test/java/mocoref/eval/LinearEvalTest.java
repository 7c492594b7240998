package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.data.Dataset;
import mocoref.data.SampleSeeds;
import mocoref.data.augment.Image;
import mocoref.data.augment.Normalize;
import mocoref.data.augment.Transform;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** main_lincls.py's protocol: its schedule, and both ways of feeding the classifier. */
class LinearEvalTest {
    @Test
    void scheduleIsMainLinclsStepDecay() {
        assertArrayEquals(new int[] {60, 80}, LinearEval.defaultMilestones(100));
        assertArrayEquals(new int[] {6, 8}, LinearEval.defaultMilestones(10));
        int[] m = {60, 80};
        assertEquals(30, LinearEval.learningRate(30, m, 0));
        assertEquals(30, LinearEval.learningRate(30, m, 59));
        assertEquals(3, LinearEval.learningRate(30, m, 60), 1e-12);
        assertEquals(0.3, LinearEval.learningRate(30, m, 80), 1e-12);
        assertEquals(0.3, LinearEval.learningRate(30, m, 99), 1e-12);
    }

    /** Features of {@code classes} well-separated Gaussian clusters, small like pooled ReLU features. */
    static FeatureExtractor.Features clusters(SplittableRandom rng, int n, int dim, int classes, float[][] centres) {
        float[] x = new float[n * dim];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(classes);
            for (int t = 0; t < dim; t++) x[i * dim + t] = centres[labels[i]][t] + (float) (0.02 * (rng.nextDouble() - 0.5));
        }
        return new FeatureExtractor.Features(x, null, labels, n, dim, 0);
    }

    @Test
    void cachedFeaturesReachHighAccuracyOnSeparableClusters() {
        SplittableRandom rng = new SplittableRandom(1);
        int dim = 32;
        int classes = 10;
        float[][] centres = new float[classes][dim];
        for (float[] c : centres) for (int t = 0; t < dim; t++) c[t] = (float) (rng.nextDouble() - 0.5);
        FeatureExtractor.Features train = clusters(rng, 1000, dim, classes, centres);
        FeatureExtractor.Features test = clusters(rng, 300, dim, classes, centres);
        List<LinearEval.Epoch> log = new ArrayList<>();
        // lr 30 suits pooled ResNet features; these, of norm ~1.6, want about 1
        LinearEval.Settings s = new LinearEval.Settings(10, 1, LinearEval.defaultMilestones(10), 256, 0.9, 0, 0, 2);
        LinearEval.Result r = LinearEval.cached(train, test, classes, s, log::add);
        assertEquals(10, log.size());
        assertEquals(1, log.get(5).lr(), 1e-12);
        assertEquals(0.1, log.get(6).lr(), 1e-12);
        assertEquals(0.01, log.get(9).lr(), 1e-12);
        assertTrue(r.last().top1() > 0.95, "top-1 " + r.last().top1());
        assertEquals(1.0, r.last().top5(), 1e-12);
        assertTrue(r.best().top1() >= r.last().top1());
        assertEquals(r.best(), r.epochs().get(r.bestEpoch()).test());
    }

    /** An encoder whose "features" are each channel's mean and the image's first pixel: cheap, and sensitive to the crop. */
    static final class RecordingEncoder implements Encoder {
        final List<double[]> inputs = new ArrayList<>();

        @Override
        public Encoded encode(ImageBatch batch) {
            Tensor images = batch.toTensor();
            inputs.add(images.data.clone());
            int n = images.size(0);
            int c = images.size(1);
            int plane = images.size(2) * images.size(3);
            float[] f = new float[n * (c + 1)];
            for (int i = 0; i < n; i++) {
                for (int ch = 0; ch < c; ch++) {
                    double s = 0;
                    for (int p = 0; p < plane; p++) s += images.data[(i * c + ch) * plane + p];
                    f[i * (c + 1) + ch] = (float) (s / plane);
                }
                f[i * (c + 1) + c] = (float) images.data[i * c * plane];
            }
            return new Encoded(f, null, n, c + 1, 0);
        }
    }

    static Dataset dataset(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] images = new float[n * 2 * 6 * 6];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
            for (int p = 0; p < 72; p++) images[i * 72 + p] = (float) (labels[i] * 0.3 + 0.2 * rng.nextDouble());
        }
        return new Dataset("toy", images, labels, n, 2, 6, 6, List.of("a", "b", "c"));
    }

    @Test
    void augmentedTrainingSeesTheSeededCropsAndIsReproducible() {
        Dataset train = dataset(50, 2);
        Normalize norm = train.normalization();
        Transform aug = LinearEval.augmentation(6, 0.08, norm);
        RecordingEncoder enc = new RecordingEncoder();
        FeatureExtractor.Features test = FeatureExtractor.extract(enc, dataset(20, 3), norm, 8);
        LinearEval.Settings s = new LinearEval.Settings(3, 1, new int[] {2}, 16, 0.9, 0, 5, 2);
        enc.inputs.clear();
        LinearEval.Result first = LinearEval.augmented(enc, train, aug, test, 3, s, e -> {});
        // 50 images in batches of 16: 4 batches an epoch, the last of 2 (kept, as main_lincls.py's loader does)
        assertEquals(12, enc.inputs.size());
        assertEquals(2 * 2 * 36, enc.inputs.get(3).length);
        // batch 1 of epoch 2 (the prefetched one) is what the seeds say, whatever the timing
        int[] order = LinearEval.order(50, 5, 2);
        double[] seen = enc.inputs.get(9);
        for (int i = 0; i < 16; i++) {
            int position = 16 + i;
            Image expected = aug.apply(train.image(order[position]), new SplittableRandom(SampleSeeds.sample(5, 2, position)));
            for (int p = 0; p < 72; p++) assertEquals(expected.data()[p], seen[i * 72 + p], 0.0, "image " + i);
        }
        LinearEval.Result again = LinearEval.augmented(new RecordingEncoder(), train, aug, test, 3, s, e -> {});
        assertEquals(first.epochs(), again.epochs());
    }
}
