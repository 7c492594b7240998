package mocoref.cpu;

import mocoref.parallel.WorkerPool;

import mocoref.device.Activation;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/**
 * BatchNorm over the channels of a {@link Plane} activation, with MoCo's logical devices: in
 * training each of {@code groups} contiguous chunks of the batch is normalized with its own mean and
 * biased variance; running statistics (momentum 0.1, unbiased variance) follow chunk 0 alone, as
 * DistributedDataParallel's buffer broadcast from rank 0 makes them. A chunk of one channel is one
 * contiguous range of its row, so one task per (channel, chunk) computes the statistics and
 * normalizes while the range is still in cache; the statistics take one pass ({@link Kernels#shiftedSums}). The block's residual add and ReLU are fused into
 * the same pass, and their gradients into the backward's.
 */
final class CpuBatchNorm2d implements Device.BatchNorm2d {
    static final double EPS = 1e-5;
    static final double MOMENTUM = 0.1;

    final int channels;
    final Plane plane;
    /** gamma at value[weightOffset ..], beta at value[biasOffset ..]; their gradients at the same places in grad */
    private final float[] value, grad;
    final int weightOffset, biasOffset;
    /** running_mean at stats[meanOffset ..], running_var at stats[varOffset ..] */
    private final float[] stats;
    private final int meanOffset, varOffset;
    private final Kernels kernels;
    private final WorkerPool pool;

    // saved by the training forward: [groups][C]
    private final float[] mean, invStd;
    // per (chunk, channel) parameter gradients, summed in a fixed order after the tasks
    private final double[] gradGamma, gradBeta;
    private final double[][] sums;

    // arguments of the pass in flight
    private float[] x, res, y, dy, dz, dx;
    private boolean relu;
    private int groups;

    private final WorkerPool.Task forwardTask = this::forwardChunk;
    private final WorkerPool.Task evalTask = this::evalChannel;
    private final WorkerPool.Task backwardTask = this::backwardChunk;

    CpuBatchNorm2d(int channels, Plane plane, int maxGroups, ParamRef weight, ParamRef bias, float[] stats, int meanOffset,
                   int varOffset, Kernels kernels, WorkerPool pool) {
        this.channels = channels;
        this.plane = plane;
        this.value = CpuDevice.data(weight.value());
        this.grad = weight.trainable() ? CpuDevice.data(weight.grad()) : null;
        if (bias.value() != weight.value() || bias.grad() != weight.grad()) {
            throw new IllegalArgumentException("gamma and beta must live in the same buffers");
        }
        this.weightOffset = Math.toIntExact(weight.offset());
        this.biasOffset = Math.toIntExact(bias.offset());
        this.stats = stats;
        this.meanOffset = meanOffset;
        this.varOffset = varOffset;
        this.kernels = kernels;
        this.pool = pool;
        mean = new float[maxGroups * channels];
        invStd = new float[maxGroups * channels];
        gradGamma = new double[maxGroups * channels];
        gradBeta = new double[maxGroups * channels];
        sums = WorkerPool.scratchDoubles(pool.threads(), 2);
    }

    /**
     * Training mode: y = mask * f(BN(x) [+ res]), f = ReLU when {@code relu}, over {@code groups}
     * devices. x, res, y [C, plane]; res may be null.
     */
    @Override
    public void forwardTrain(Activation x, Activation residual, boolean relu, Activation y, int groups) {
        forward(CpuDevice.data(x), residual == null ? null : CpuDevice.data(residual), relu, CpuDevice.overwritten(y, x, residual), groups);
    }

    @Override
    public void forwardEval(Activation x, Activation residual, boolean relu, Activation y) {
        forwardEval(CpuDevice.data(x), residual == null ? null : CpuDevice.data(residual), relu, CpuDevice.overwritten(y, x, residual));
    }

    @Override
    public void backward(Activation dy, Activation y, Activation x, Activation dz, Activation dx) {
        float[] dyData = CpuDevice.data(dy), yData = y == null ? null : CpuDevice.data(y), xData = CpuDevice.data(x);
        // dz may be dy itself (elementwise, in place): taken for writing after the reads
        backward(dyData, yData, xData, CpuDevice.overwritten(dz, y, x), CpuDevice.overwritten(dx, dy, y, dz));
    }

    void forward(float[] x, float[] res, boolean relu, float[] y, int groups) {
        if (plane.n() % groups != 0) throw new mocoref.MocoRefException("batch " + plane.n() + " is not divisible by " + groups + " devices");
        if ((long) plane.n() / groups * plane.h() * plane.w() < 2) {
            throw new mocoref.MocoRefException("BatchNorm needs more than 1 value per channel per device in training (got "
                    + plane.n() / groups + " samples of " + plane.h() + "x" + plane.w() + ")");
        }
        this.x = x;
        this.res = res;
        this.relu = relu;
        this.y = y;
        this.groups = groups;
        if (groups > mean.length / channels) throw new IllegalArgumentException(groups + " groups, built for " + mean.length / channels);
        pool.forEach(channels * groups, forwardTask);
    }

    private void forwardChunk(int index, int worker) {
        int c = index / groups, g = index % groups;
        int per = plane.n() / groups, len = per * plane.imageStride();
        int q0 = g * len, off = c * plane.rowLength() + plane.lead() + q0;
        long count = (long) per * plane.h() * plane.w();
        // one pass: sums of (x - s) and (x - s)^2 over the images' positions, with s near the mean
        // (from a sample), so the variance below does not cancel
        double s = sampleMean(x, off, q0, len);
        double[] sum = sums[worker];
        kernels.shiftedSums(x, off, len, (float) s, plane.mask(), q0, sum);
        float sF = (float) s;
        double d1 = sum[0], d2 = sum[1];
        double mu = sF + d1 / count;
        double sq = Math.max(d2 - d1 * (d1 / count), 0.0); // sum over the images of (x - mu)^2
        double var = sq / count;
        double is = 1.0 / Math.sqrt(var + EPS);
        mean[g * channels + c] = (float) mu;
        invStd[g * channels + c] = (float) is;
        double gamma = value[weightOffset + c], beta = value[biasOffset + c];
        float scale = (float) (gamma * is), shift = (float) (beta - mu * gamma * is);
        kernels.scaleShift(x, off, res, off, scale, shift, relu, plane.mask(), q0, y, off, len);
        if (g == 0) { // only device 0's statistics survive DDP's buffer broadcast
            stats[meanOffset + c] = (float) ((1 - MOMENTUM) * stats[meanOffset + c] + MOMENTUM * mu);
            stats[varOffset + c] = (float) ((1 - MOMENTUM) * stats[varOffset + c] + MOMENTUM * sq / (count - 1));
        }
    }

    /** Mean of up to 64 image positions spread over the range: a shift within a fraction of a std of the mean. */
    private double sampleMean(float[] x, int off, int q0, int len) {
        float[] mask = plane.mask();
        double total = 0;
        int n = 0;
        for (int k = 0; k < 64; k++) {
            int q = (int) ((long) k * len / 64);
            if (mask[q0 + q] != 0) {
                total += x[off + q];
                n++;
            }
        }
        return n == 0 ? 0 : total / n;
    }

    /** Eval mode: normalize with the running statistics; nothing saved or updated. */
    void forwardEval(float[] x, float[] res, boolean relu, float[] y) {
        this.x = x;
        this.res = res;
        this.relu = relu;
        this.y = y;
        pool.forEach(channels, evalTask);
    }

    private void evalChannel(int c, int worker) {
        int off = c * plane.rowLength() + plane.lead();
        double is = 1.0 / Math.sqrt(stats[varOffset + c] + EPS);
        double gamma = value[weightOffset + c], beta = value[biasOffset + c];
        float scale = (float) (gamma * is), shift = (float) (beta - stats[meanOffset + c] * gamma * is);
        kernels.scaleShift(x, off, res, off, scale, shift, relu, plane.mask(), 0, y, off, plane.span());
    }

    /**
     * dy -> dx for the training forward, through the fused ReLU when {@code y} (the forward's output)
     * is given. Writes dz = the gradient at BN's output (+ the residual's: what the shortcut receives)
     * and dx; adds into gamma's and beta's gradients. dz may be dy itself (no ReLU). x is BN's input.
     */
    void backward(float[] dy, float[] y, float[] x, float[] dz, float[] dx) {
        this.dy = dy;
        this.y = y;
        this.x = x;
        this.dz = dz;
        this.dx = dx;
        if (grad == null) throw new IllegalStateException("this BatchNorm was built without gradients");
        pool.forEach(channels * groups, backwardTask);
        float[] g = grad;
        for (int c = 0; c < channels; c++) {
            double gg = 0, gb = 0;
            for (int k = 0; k < groups; k++) {
                gg += gradGamma[k * channels + c];
                gb += gradBeta[k * channels + c];
            }
            g[weightOffset + c] += (float) gg;
            g[biasOffset + c] += (float) gb;
        }
    }

    private void backwardChunk(int index, int worker) {
        int c = index / groups, g = index % groups;
        int per = plane.n() / groups, len = per * plane.imageStride();
        int q0 = g * len, off = c * plane.rowLength() + plane.lead() + q0;
        double count = (double) per * plane.h() * plane.w();
        float mu = mean[g * channels + c];
        double is = invStd[g * channels + c];
        double[] s = sums[worker];
        kernels.reluGradSums(dy, y, x, off, len, mu, dz, s);
        double sumDz = s[0], sumDzXhat = s[1] * is;
        gradBeta[g * channels + c] = sumDz;
        gradGamma[g * channels + c] = sumDzXhat;
        // dx = gamma*is/M * (M*dz - sum(dz) - xhat*sum(dz*xhat)), xhat = (x - mean)*is
        double gamma = value[weightOffset + c];
        double a = gamma * is, b = -gamma * is * sumDz / count, cc = -gamma * is * is * sumDzXhat / count;
        kernels.bnInputGrad(dz, x, off, len, mu, (float) a, (float) b, (float) cc, plane.mask(), q0, dx, off);
    }
}
