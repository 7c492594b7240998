package mocoref.opencl;

import mocoref.device.Activation;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/**
 * BatchNorm on the OpenCL device ({@code batchnorm.cl}): statistics per (chunk, channel) by one
 * work-group each, then an elementwise pass with the residual add and ReLU fused; the backward
 * reduces per (chunk, channel), adds the parameter gradients in chunk order, then computes dx.
 */
final class ClBatchNorm2d implements Device.BatchNorm2d {
    private static final int LOCAL = 256; // batchnorm.cl's BN_LOCAL

    private final OpenClDevice device;
    private final OpenClDevice.Kernels k;
    private final int channels, n, hw, maxGroups;
    private final OpenClDevice.ClBuffer value, grad, running;
    private final int gammaOff, betaOff, meanOff, varOff;
    /** Saved by the training forward, [groups][C]; the backward's per-chunk sums, [groups][C]. */
    private final OpenClDevice.ClBuffer mean, invStd, sumDz, sumDzXhat;
    private int groups;

    ClBatchNorm2d(OpenClDevice device, int channels, int n, int h, int w, int maxGroups, ParamRef weight, ParamRef bias,
                  OpenClDevice.ClBuffer running, int meanOff, int varOff) {
        if (bias.value() != weight.value() || bias.grad() != weight.grad()) {
            throw new IllegalArgumentException("gamma and beta must live in the same buffers");
        }
        this.device = device;
        this.k = device.new Kernels();
        this.channels = channels;
        this.n = n;
        this.hw = h * w;
        this.maxGroups = Math.max(1, maxGroups);
        this.value = OpenClDevice.mem(weight.value());
        this.grad = weight.trainable() ? OpenClDevice.mem(weight.grad()) : null;
        this.gammaOff = Math.toIntExact(weight.offset());
        this.betaOff = Math.toIntExact(bias.offset());
        this.running = running;
        this.meanOff = meanOff;
        this.varOff = varOff;
        int saved = this.maxGroups * channels;
        mean = OpenClDevice.mem(device.buffer(saved));
        invStd = OpenClDevice.mem(device.buffer(saved));
        sumDz = OpenClDevice.mem(device.buffer(saved));
        sumDzXhat = OpenClDevice.mem(device.buffer(saved));
    }

    @Override
    public void forwardTrain(Activation x, Activation residual, boolean relu, Activation y, int groups) {
        if (groups < 1 || groups > maxGroups || n % groups != 0) {
            throw new IllegalArgumentException("BatchNorm over " + n + " images cannot split into " + groups + " groups (at most "
                    + maxGroups + ")");
        }
        this.groups = groups;
        int perGroup = n / groups, total = n * channels * hw;
        device.launch(k.get("bn_stats"), new long[] {(long) LOCAL * channels, groups}, new long[] {LOCAL, 1},
                x, channels, hw, perGroup, mean, invStd, running, meanOff, varOff, true);
        device.launch1(k.get("bn_forward_train"), total, x, residual, residual != null, relu, y, mean, invStd, value, gammaOff, betaOff,
                channels, hw, perGroup, total);
    }

    @Override
    public void forwardEval(Activation x, Activation residual, boolean relu, Activation y) {
        int total = n * channels * hw;
        device.launch1(k.get("bn_forward_eval"), total, x, residual, residual != null, relu, y, running, meanOff, varOff, value,
                gammaOff, betaOff, channels, hw, total);
    }

    @Override
    public void backward(Activation dy, Activation y, Activation x, Activation dz, Activation dx) {
        if (groups == 0) throw new IllegalStateException("BatchNorm backward before a training forward");
        int perGroup = n / groups, total = n * channels * hw;
        device.launch(k.get("bn_backward_reduce"), new long[] {(long) LOCAL * channels, groups}, new long[] {LOCAL, 1},
                dy, y, y != null, dz, dz != dy || y != null, x, mean, invStd, sumDz, sumDzXhat, channels, hw, perGroup);
        if (grad != null) {
            device.launch1(k.get("bn_backward_params"), channels, sumDz, sumDzXhat, groups, channels, grad, gammaOff, betaOff);
        }
        device.launch1(k.get("bn_backward_input"), total, dz, x, mean, invStd, sumDz, sumDzXhat, value, gammaOff, dx, channels, hw,
                perGroup, total);
    }
}
