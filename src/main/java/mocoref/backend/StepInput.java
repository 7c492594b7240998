package mocoref.backend;

/**
 * What one step consumes: two augmented views [N, C, H, W], the key shuffles (permutations of
 * 0..N-1; {@code idxShuffle2} only for the symmetric loss), this step's key-encoder momentum and
 * learning rate (schedules are the caller's business), and whether the step should return its
 * logits (the golden runs want them; training does not, and a device then keeps them).
 *
 * <p>The memory bank also needs {@code index}, each image's row in the bank (its position in the
 * training set), and {@code negatives}, the K bank rows drawn as this step's negatives; both are
 * null for the other mechanisms. Like the shuffles, every random draw is the caller's, so that all
 * backends take the same ones.
 */
public record StepInput(ImageBatch imQ, ImageBatch imK, int[] idxShuffle, int[] idxShuffle2, double m, double lr,
                        boolean returnLogits, int[] index, int[] negatives) {

    /** A step of MoCo or end-to-end (no memory bank). */
    public StepInput(ImageBatch imQ, ImageBatch imK, int[] idxShuffle, int[] idxShuffle2, double m, double lr,
                     boolean returnLogits) {
        this(imQ, imK, idxShuffle, idxShuffle2, m, lr, returnLogits, null, null);
    }
}
