package mocoref.train;

import mocoref.data.Dataset;
import mocoref.data.augment.Normalize;
import mocoref.eval.FeatureExtractor;
import mocoref.eval.Knn;
import mocoref.eval.KnnResult;
import mocoref.eval.LinearEval;

/**
 * The two read-outs a training run reports: kNN (the CIFAR demo's monitor: k, t, cosine,
 * weighted vote, the train set as bank) and a linear classifier on cached features
 * ({@code lincls --cached-features}: main_lincls.py's optimizer and schedule without
 * augmentation, its learning rate and weight decay chosen on a held-out tenth of the train set,
 * {@link LinearEval#selected}), on the encoder's features or, for scale, on the raw pixels, under
 * the same protocol.
 */
public final class Probes {
    /** Epochs of the linear probe: the paper's 100 (cached features make them cheap). */
    public static final int LINEAR_EPOCHS = 100;

    public record Result(double knnTop1, double linearTop1, double linearLr, double linearWd) {}

    private Probes() {}

    public static KnnResult knn(FeatureExtractor.Features train, FeatureExtractor.Features test, int classes, int k, double t,
                                int threads) {
        return Knn.evaluate(train.features(), train.labels(), test.features(), test.labels(), train.featureDim(), classes, k, t,
                threads);
    }

    /** Units of progress of {@link #linear}: an epoch of a held-out try or of the final training. */
    public static int linearSteps() {
        return LinearEval.selectionEpochs(LINEAR_EPOCHS);
    }

    /**
     * The raw pixels' kNN in units of {@link #linearSteps}: on 784 pixels it takes about as long as
     * this many probe epochs (6 s against 0.15 s an epoch-unit of the probe on 2 cores, 2026-12-02).
     */
    static final int RAW_KNN_UNITS = 40;

    /** Units of progress of {@link #rawPixels}: the kNN, then {@link #linearSteps}. */
    public static int rawPixelSteps() {
        return RAW_KNN_UNITS + linearSteps();
    }

    /** The linear probe: lr and wd chosen on held-out training features, then trained on all of them, tested once. */
    public static LinearEval.Selection linear(FeatureExtractor.Features train, FeatureExtractor.Features test, int classes, long seed,
                                              int threads, Progress progress) {
        int tries = LinearEval.GRID_LR.length * LinearEval.GRID_WD.length;
        int[] tried = {0};
        return LinearEval.selected(train, test, classes, LinearEval.Settings.mainLincls(LINEAR_EPOCHS, seed, threads),
                LinearEval.GRID_LR, LinearEval.GRID_WD, LinearEval.SELECT_EPOCHS,
                line -> progress.step(0, ++tried[0] < tries ? line : line + "; the final probe on all training images"),
                () -> progress.step(1, null));
    }

    /** Both probes on the normalized pixels themselves: what the encoder has to beat. */
    public static Result rawPixels(Dataset train, Dataset test, Normalize normalize, int k, double t, long seed, int threads,
                                   Progress progress) {
        FeatureExtractor.Features tr = pixels(train, normalize), te = pixels(test, normalize);
        double knn = knn(tr, te, train.numClasses(), k, t, threads).top1();
        progress.step(RAW_KNN_UNITS, "kNN");
        LinearEval.Selection lin = linear(tr, te, train.numClasses(), seed, threads, progress);
        return new Result(knn, lin.result().last().top1(), lin.lr(), lin.weightDecay());
    }

    private static FeatureExtractor.Features pixels(Dataset data, Normalize normalize) {
        int plane = data.height() * data.width(), d = data.channels() * plane;
        float[] x = new float[data.n() * d];
        for (int i = 0; i < data.n(); i++) normalize.apply(data.images(), i * d, x, i * d, data.channels(), plane);
        return new FeatureExtractor.Features(x, null, data.labels(), data.n(), d, 0);
    }
}
