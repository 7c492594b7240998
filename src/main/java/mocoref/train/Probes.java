package mocoref.train;

import mocoref.data.Dataset;
import mocoref.data.augment.Normalize;
import mocoref.eval.Accuracy;
import mocoref.eval.FeatureExtractor;
import mocoref.eval.Knn;
import mocoref.eval.KnnResult;
import mocoref.eval.LinearEval;

/**
 * The two read-outs a training run reports: kNN (the CIFAR demo's monitor: k, t, cosine,
 * weighted vote, the train set as bank) and a linear classifier on cached features
 * ({@code lincls --cached-features}: main_lincls.py's optimizer and schedule without
 * augmentation), on the encoder's features or, for scale, on the raw pixels.
 */
public final class Probes {
    /** Epochs of the linear probe: the paper's 100 (cached features make them cheap). */
    public static final int LINEAR_EPOCHS = 100;

    public record Result(double knnTop1, double linearTop1) {}

    private Probes() {}

    public static KnnResult knn(FeatureExtractor.Features train, FeatureExtractor.Features test, int classes, int k, double t,
                                int threads) {
        return Knn.evaluate(train.features(), train.labels(), test.features(), test.labels(), train.featureDim(), classes, k, t,
                threads);
    }

    public static Accuracy linear(FeatureExtractor.Features train, FeatureExtractor.Features test, int classes, long seed,
                                  int threads) {
        return LinearEval.cached(train, test, classes, LinearEval.Settings.mainLincls(LINEAR_EPOCHS, seed, threads), e -> { })
                .last();
    }

    /** Both probes on the normalized pixels themselves: what the encoder has to beat. */
    public static Result rawPixels(Dataset train, Dataset test, Normalize normalize, int k, double t, long seed, int threads) {
        FeatureExtractor.Features tr = pixels(train, normalize), te = pixels(test, normalize);
        return new Result(knn(tr, te, train.numClasses(), k, t, threads).top1(),
                linear(tr, te, train.numClasses(), seed, threads).top1());
    }

    private static FeatureExtractor.Features pixels(Dataset data, Normalize normalize) {
        int plane = data.height() * data.width(), d = data.channels() * plane;
        float[] x = new float[data.n() * d];
        for (int i = 0; i < data.n(); i++) normalize.apply(data.images(), i * d, x, i * d, data.channels(), plane);
        return new FeatureExtractor.Features(x, null, data.labels(), data.n(), d, 0);
    }
}
