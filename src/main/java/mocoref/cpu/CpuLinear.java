package mocoref.cpu;

import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/** Fully connected layer {@code y = x W^T + b} (PyTorch's nn.Linear) on row-major [N][features] arrays. */
final class CpuLinear implements Device.Linear {
    final int inFeatures, outFeatures;
    /** W [out][in] at value[weightOffset ..], b [out] at value[biasOffset ..]; their gradients at the same places in grad */
    private final float[] value, grad;
    final int weightOffset, biasOffset;
    private final Gemm gemm;

    CpuLinear(int in, int out, ParamRef weight, ParamRef bias, Gemm gemm) {
        this.inFeatures = in;
        this.outFeatures = out;
        this.gemm = gemm;
        if (bias.value() != weight.value() || bias.grad() != weight.grad()) {
            throw new IllegalArgumentException("weight and bias must live in the same buffers");
        }
        this.value = CpuDevice.data(weight.value());
        this.grad = weight.trainable() ? CpuDevice.data(weight.grad()) : null;
        weightOffset = Math.toIntExact(weight.offset());
        biasOffset = Math.toIntExact(bias.offset());
    }

    @Override
    public void forward(Buffer x, Buffer y, int rows) {
        forward(CpuDevice.data(x), CpuDevice.data(y), rows);
    }

    @Override
    public void backward(Buffer dy, Buffer x, Buffer dx, int rows) {
        backward(CpuDevice.data(dy), CpuDevice.data(x), dx == null ? null : CpuDevice.data(dx), rows);
    }

    /** x [n][in] -> y [n][out]. */
    void forward(float[] x, float[] y, int n) {
        float[] w = value;
        gemm.multiply(n, outFeatures, inFeatures, 1f, x, 0, inFeatures, 1, w, weightOffset, 1, inFeatures, y, 0, outFeatures, false);
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < outFeatures; o++) y[r * outFeatures + o] += w[biasOffset + o];
        }
    }

    /** dy [n][out] -> dx [n][in] (when not null); adds into the weight and bias gradients. x is the forward's input. */
    void backward(float[] dy, float[] x, float[] dx, int n) {
        if (grad == null) throw new IllegalStateException("this Linear layer was built without gradients");
        float[] w = value, g = grad;
        // dW[o][i] += sum_r dy[r][o] x[r][i]
        gemm.multiply(outFeatures, inFeatures, n, 1f, dy, 0, 1, outFeatures, x, 0, inFeatures, 1, g, weightOffset, inFeatures, true);
        for (int o = 0; o < outFeatures; o++) {
            double s = 0;
            for (int r = 0; r < n; r++) s += dy[r * outFeatures + o];
            g[biasOffset + o] += (float) s;
        }
        if (dx != null) gemm.multiply(n, inFeatures, outFeatures, 1f, dy, 0, outFeatures, 1, w, weightOffset, inFeatures, 1, dx, 0, inFeatures, false);
    }
}
