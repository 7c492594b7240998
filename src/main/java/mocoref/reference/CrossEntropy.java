package mocoref.reference;

import mocoref.tensor.Tensor;

/**
 * Softmax cross-entropy with mean reduction over the rows, PyTorch's {@code F.cross_entropy}.
 * In MoCo the target is always class 0, the positive key: InfoNCE is a (K+1)-way classifier.
 */
public final class CrossEntropy {
    private Tensor probs; // saved: softmax of the logits
    private int[] targets;

    /** logits [N, C], targets [N] -> mean over rows of {@code logsumexp(z) - z[target]}. */
    public double forward(Tensor logits, int[] targets) {
        int n = logits.size(0), c = logits.size(1);
        this.targets = targets.clone();
        probs = new Tensor(n, c);
        double total = 0.0;
        for (int r = 0; r < n; r++) {
            // subtract the row maximum so exp never overflows
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) max = Math.max(max, logits.data[r * c + j]);
            double sum = 0.0;
            for (int j = 0; j < c; j++) {
                double e = Math.exp(logits.data[r * c + j] - max);
                probs.data[r * c + j] = e;
                sum += e;
            }
            for (int j = 0; j < c; j++) probs.data[r * c + j] /= sum;
            double logSumExp = max + Math.log(sum);
            total += logSumExp - logits.data[r * c + targets[r]];
        }
        return total / n;
    }

    /** -> dlogits [N, C] = (softmax - onehot(target)) / N, times the upstream gradient of the loss. */
    public Tensor backward(double dLoss) {
        int n = probs.size(0), c = probs.size(1);
        Tensor d = new Tensor(n, c);
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < c; j++) {
                double p = probs.data[r * c + j] - (j == targets[r] ? 1.0 : 0.0);
                d.data[r * c + j] = p * dLoss / n;
            }
        }
        return d;
    }
}
