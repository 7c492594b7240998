package mocoref.eval;

import java.util.function.IntConsumer;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.data.Dataset;
import mocoref.data.PlainBatch;
import mocoref.data.PlainBatches;
import mocoref.data.augment.Normalize;

/**
 * Runs an eval-mode encoder over a whole dataset, in order, normalized and not augmented: the
 * features the kNN monitor and linear classification read. Single-threaded around the encoder,
 * which is itself multi-threaded; normalizing a batch costs little next to its forward pass.
 */
public final class FeatureExtractor {
    /** Images per forward pass unless told otherwise. */
    public static final int DEFAULT_BATCH = 256;

    private FeatureExtractor() {}

    /**
     * Features of every image of a dataset, in dataset order.
     *
     * @param features   [n, featureDim] global-pooled backbone output
     * @param embeddings [n, dim] the head's output (before MoCo's normalization), or null when the encoder has no head
     * @param labels     [n] the dataset's labels (shared, not copied)
     */
    public record Features(float[] features, float[] embeddings, int[] labels, int n, int featureDim, int dim) {}

    public static Features extract(Encoder encoder, Dataset data, Normalize normalize, int batchSize) {
        return extract(encoder, data, normalize, batchSize, done -> {});
    }

    /** As {@link #extract(Encoder, Dataset, Normalize, int)}, telling {@code progress} how many images are done after each batch. */
    public static Features extract(Encoder encoder, Dataset data, Normalize normalize, int batchSize, IntConsumer progress) {
        PlainBatches batches = new PlainBatches(data, normalize, batchSize);
        float[] features = null;
        float[] embeddings = null;
        int featureDim = 0;
        int dim = 0;
        for (PlainBatch b : batches) {
            Encoder.Encoded e = encoder.encode(ImageBatch.of(b.images(), b.size(), b.channels(), b.height(), b.width()));
            if (features == null) {
                featureDim = e.featureDim();
                dim = e.embeddings() == null ? 0 : e.dim();
                features = new float[Math.multiplyExact(data.n(), featureDim)];
                if (e.embeddings() != null) embeddings = new float[Math.multiplyExact(data.n(), dim)];
            }
            System.arraycopy(e.features(), 0, features, b.start() * featureDim, b.size() * featureDim);
            if (embeddings != null) System.arraycopy(e.embeddings(), 0, embeddings, b.start() * dim, b.size() * dim);
            progress.accept(b.start() + b.size());
        }
        if (features == null) features = new float[0]; // an empty dataset
        return new Features(features, embeddings, data.labels(), data.n(), featureDim, dim);
    }
}
