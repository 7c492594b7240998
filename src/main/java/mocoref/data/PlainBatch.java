package mocoref.data;

/**
 * {@code size} consecutive dataset images from {@code start}, normalized but not augmented:
 * {@code images[size, C, H, W]} and their {@code labels}. Batch {@code index}.
 */
public record PlainBatch(int index, int start, int size, int channels, int height, int width, float[] images, int[] labels) {}
