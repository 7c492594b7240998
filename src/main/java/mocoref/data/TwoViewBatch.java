package mocoref.data;

/**
 * One training batch: {@code size} images, each augmented twice, as {@code imQ[size, C, H, W]}
 * (the query views) and {@code imK[size, C, H, W]} (the key views), as main_moco.py passes
 * {@code im_q=images[0], im_k=images[1]}. {@code indices} and {@code labels} are the images' dataset
 * indices and classes (MoCo ignores labels; they serve monitoring). Batch {@code index} of {@code epoch}.
 */
public record TwoViewBatch(int epoch, int index, int size, int channels, int height, int width,
        float[] imQ, float[] imK, int[] indices, int[] labels) {}
