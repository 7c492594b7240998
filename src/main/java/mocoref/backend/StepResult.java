package mocoref.backend;

import mocoref.io.StoredTensor;

/**
 * What one step produced: the loss (L12 + L21 for the symmetric loss), the logits [N, 1+K]
 * ({@code logits2} for L21, else null), and the contrastive accuracy: the fraction of queries whose
 * positive key scored highest.
 */
public record StepResult(double loss, StoredTensor logits, StoredTensor logits2, double accuracy) {}
