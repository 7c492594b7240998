package mocoref.reference;

import mocoref.MocoRefException;
import mocoref.tensor.Tensor;

/**
 * BatchNorm over the channels of an NCHW tensor, with MoCo's "logical devices": in training mode
 * the batch is split into {@code groups} contiguous chunks and each chunk is normalized with its own
 * mean and biased variance, exactly as G GPUs under DistributedDataParallel would each see only
 * their own sub-batch. This is the mechanism shuffle-BN relies on (see docs/semantics.md).
 *
 * <p>Running statistics (momentum 0.1, unbiased variance) are updated from chunk 0 alone, because
 * DDP broadcasts rank 0's buffers at every forward. In eval mode the running statistics are used.
 */
public final class BatchNorm2d {
    public static final double EPS = 1e-5;
    public static final double MOMENTUM = 0.1;

    public final int channels;
    /** [C] scale (gamma) */
    public final Param weight;
    /** [C] shift (beta) */
    public final Param bias;
    /** [C] */
    public final Tensor runningMean;
    /** [C] */
    public final Tensor runningVar;
    public long numBatchesTracked;

    // saved by the training forward for backward
    private Tensor xhat; // [N, C, H, W] normalized input
    private double[] invStd; // [groups * C]
    private int groups;

    public BatchNorm2d(int channels) {
        this.channels = channels;
        this.weight = new Param(channels);
        this.bias = new Param(channels);
        this.runningMean = new Tensor(channels);
        this.runningVar = new Tensor(channels);
        java.util.Arrays.fill(weight.value.data, 1.0);
        java.util.Arrays.fill(runningVar.data, 1.0);
    }

    /** Training mode: x [N, C, H, W] -> y, normalizing each of {@code groups} chunks of N/groups rows on its own. */
    public Tensor forward(Tensor x, int groups) {
        int n = x.size(0), c = channels, hw = x.size(2) * x.size(3);
        if (n % groups != 0) throw new MocoRefException("batch " + n + " is not divisible by " + groups + " devices");
        int per = n / groups;
        long count = (long) per * hw; // values per channel per chunk
        if (count < 2) {
            throw new MocoRefException("BatchNorm needs more than 1 value per channel per device in training (got "
                    + per + " samples of " + x.size(2) + "x" + x.size(3) + ")");
        }
        this.groups = groups;
        this.xhat = new Tensor(x.shape);
        this.invStd = new double[groups * c];
        Tensor y = new Tensor(x.shape);
        double[] xd = x.data, xh = xhat.data, yd = y.data;
        for (int g = 0; g < groups; g++) {
            for (int ch = 0; ch < c; ch++) {
                // two passes: the mean first, then the mean squared deviation (no cancellation)
                double sum = 0.0;
                for (int b = g * per; b < (g + 1) * per; b++) {
                    int base = (b * c + ch) * hw;
                    for (int p = 0; p < hw; p++) sum += xd[base + p];
                }
                double mean = sum / count;
                double sq = 0.0;
                for (int b = g * per; b < (g + 1) * per; b++) {
                    int base = (b * c + ch) * hw;
                    for (int p = 0; p < hw; p++) {
                        double d = xd[base + p] - mean;
                        sq += d * d;
                    }
                }
                double var = sq / count; // biased: what normalizes
                double is = 1.0 / Math.sqrt(var + EPS);
                invStd[g * c + ch] = is;
                double gamma = weight.value.data[ch], beta = bias.value.data[ch];
                for (int b = g * per; b < (g + 1) * per; b++) {
                    int base = (b * c + ch) * hw;
                    for (int p = 0; p < hw; p++) {
                        double v = (xd[base + p] - mean) * is;
                        xh[base + p] = v;
                        yd[base + p] = v * gamma + beta;
                    }
                }
                if (g == 0) { // only device 0's statistics survive DDP's buffer broadcast
                    double unbiased = sq / (count - 1);
                    runningMean.data[ch] = (1 - MOMENTUM) * runningMean.data[ch] + MOMENTUM * mean;
                    runningVar.data[ch] = (1 - MOMENTUM) * runningVar.data[ch] + MOMENTUM * unbiased;
                }
            }
        }
        numBatchesTracked++;
        return y;
    }

    /** Eval mode: normalize with the running statistics; nothing is saved or updated. */
    public Tensor forwardEval(Tensor x) {
        int n = x.size(0), c = channels, hw = x.size(2) * x.size(3);
        Tensor y = new Tensor(x.shape);
        for (int ch = 0; ch < c; ch++) {
            double is = 1.0 / Math.sqrt(runningVar.data[ch] + EPS);
            double mean = runningMean.data[ch], gamma = weight.value.data[ch], beta = bias.value.data[ch];
            for (int b = 0; b < n; b++) {
                int base = (b * c + ch) * hw;
                for (int p = 0; p < hw; p++) y.data[base + p] = (x.data[base + p] - mean) * is * gamma + beta;
            }
        }
        return y;
    }

    /**
     * dy -> dx for the training forward; adds into the gradients of gamma and beta. Per chunk and
     * channel, with M values: {@code dx = gamma * invStd / M * (M*dy - sum(dy) - xhat * sum(dy*xhat))}
     * (derivation in docs/semantics.md).
     */
    public Tensor backward(Tensor dy) {
        int n = dy.size(0), c = channels, hw = dy.size(2) * dy.size(3);
        int per = n / groups;
        double count = (double) per * hw;
        Tensor dx = new Tensor(dy.shape);
        double[] dyd = dy.data, xh = xhat.data, dxd = dx.data;
        for (int g = 0; g < groups; g++) {
            for (int ch = 0; ch < c; ch++) {
                double sumDy = 0.0, sumDyXhat = 0.0;
                for (int b = g * per; b < (g + 1) * per; b++) {
                    int base = (b * c + ch) * hw;
                    for (int p = 0; p < hw; p++) {
                        sumDy += dyd[base + p];
                        sumDyXhat += dyd[base + p] * xh[base + p];
                    }
                }
                bias.grad.data[ch] += sumDy;
                weight.grad.data[ch] += sumDyXhat;
                double scale = weight.value.data[ch] * invStd[g * c + ch] / count;
                for (int b = g * per; b < (g + 1) * per; b++) {
                    int base = (b * c + ch) * hw;
                    for (int p = 0; p < hw; p++) {
                        dxd[base + p] = scale * (count * dyd[base + p] - sumDy - xh[base + p] * sumDyXhat);
                    }
                }
            }
        }
        return dx;
    }
}
