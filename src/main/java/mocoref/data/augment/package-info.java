/**
 * Image augmentations for MoCo's two views, matching torchvision 0.14's tensor implementations
 * ({@code torchvision.transforms.functional_tensor}) on float32 images in [0,1].
 *
 * <p>Every random transform separates the drawing of its parameters ({@code sample}, from a
 * {@link java.util.SplittableRandom} it is handed) from a deterministic {@code apply(image, params)},
 * so that the deterministic half can be checked against torchvision on fixed parameters and the
 * random half can be seeded per sample. Transforms hold no mutable state and are shared by all
 * loader threads. Images are treated as immutable: a transform may return its input unchanged
 * (as torchvision does, e.g. a resize to the same size) but never writes into it.
 */
package mocoref.data.augment;
