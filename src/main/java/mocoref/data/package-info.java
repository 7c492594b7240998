/**
 * The data side of training: datasets loaded into memory ({@link mocoref.data.Datasets}: MNIST-style
 * IDX files, CIFAR-10/100 binary batches, ImageFolder trees), class-balanced subsets, the
 * background two-view batch loader for MoCo pre-training ({@link mocoref.data.TwoViewBatchLoader})
 * and plain in-order batches for feature extraction ({@link mocoref.data.PlainBatches}). The
 * augmentations themselves are in {@link mocoref.data.augment}.
 *
 * <p>A malformed file or tree is a {@link mocoref.MocoRefException} whose one-line message names
 * the file and what is wrong with it.
 */
package mocoref.data;
