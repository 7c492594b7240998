package mocoref.backend;

import mocoref.io.StoredTensor;

/**
 * What one step produced: the loss (L12 + L21 for the symmetric loss), the contrastive accuracy
 * (the fraction of queries whose positive key scored highest; the mean of both losses' for the
 * symmetric loss), and, when {@link StepInput#returnLogits} asked, the logits [N, 1+K]
 * ({@code logits2} for L21, else null); otherwise both are null.
 */
public record StepResult(double loss, double accuracy, StoredTensor logits, StoredTensor logits2) {}
