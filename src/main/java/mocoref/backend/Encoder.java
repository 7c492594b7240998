package mocoref.backend;

/** An encoder in eval mode (BatchNorm with its running statistics), for features, kNN and linear probes. */
public interface Encoder extends AutoCloseable {
    /** Images [n, C, H, W] -> global-pooled backbone features and the head's output. */
    Encoded encode(ImageBatch images);

    /**
     * @param features   [n, featureDim] global-pooled backbone output (what linear classification reads)
     * @param embeddings [n, dim] the head's output, before MoCo's normalization
     */
    /** Frees what the encoder holds on its device (nothing, for host-memory backends). */
    @Override
    default void close() {}

    record Encoded(float[] features, float[] embeddings, int n, int featureDim, int dim) {}
}
