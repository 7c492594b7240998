package mocoref.backend;

/**
 * What one step consumes: two augmented views [N, C, H, W], the key shuffles (permutations of
 * 0..N-1; {@code idxShuffle2} only for the symmetric loss), this step's key-encoder momentum and
 * learning rate (schedules are the caller's business), and whether the step should return its
 * logits (the golden runs want them; training does not, and a device then keeps them).
 */
public record StepInput(ImageBatch imQ, ImageBatch imK, int[] idxShuffle, int[] idxShuffle2, double m, double lr,
                        boolean returnLogits) {}
