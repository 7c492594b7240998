package mocoref.backend;

import mocoref.tensor.Tensor;

/**
 * What one step consumes: two augmented views [N, C, H, W], the key shuffles (permutations of
 * 0..N-1; {@code idxShuffle2} only for the symmetric loss), and this step's key-encoder momentum
 * and learning rate (schedules are the caller's business).
 */
public record StepInput(Tensor imQ, Tensor imK, int[] idxShuffle, int[] idxShuffle2, double m, double lr) {}
