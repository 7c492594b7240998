package mocoref.opencl;

import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/** nn.Linear on the OpenCL device: three products (gemm.cl) and the bias gradient's column sums. */
final class ClLinear implements Device.Linear {
    private final OpenClDevice device;
    private final OpenClDevice.Kernels k;
    private final int in, out;
    private final OpenClDevice.ClBuffer value, grad;
    private final int wOff, bOff;

    ClLinear(OpenClDevice device, int in, int out, ParamRef weight, ParamRef bias) {
        if (bias.value() != weight.value() || bias.grad() != weight.grad()) {
            throw new IllegalArgumentException("a linear layer's weight and bias must live in the same buffers");
        }
        this.device = device;
        this.k = device.new Kernels();
        this.in = in;
        this.out = out;
        this.value = OpenClDevice.mem(weight.value());
        this.grad = weight.trainable() ? OpenClDevice.mem(weight.grad()) : null;
        this.wOff = Math.toIntExact(weight.offset());
        this.bOff = Math.toIntExact(bias.offset());
    }

    @Override
    public void forward(Buffer x, Buffer y, int rows) {
        // y [rows, out] = x [rows, in] W^T + b: B[k, n] = W[n, k]
        device.gemm(k.get("gemm", "forward"), k.get("sum_partials", "forward"), rows, out, in, 1f, OpenClDevice.mem(x).mem, 0, in, 1, value.mem, wOff, 1, in,
                OpenClDevice.mem(y).mem, 0, out, false, value.mem, bOff);
    }

    @Override
    public void backward(Buffer dy, Buffer x, Buffer dx, int rows) {
        var d = OpenClDevice.mem(dy).mem;
        // dW [out, in] += dy^T x: A[m, k] = dy[k, m]
        device.gemm(k.get("gemm", "weight"), k.get("sum_partials", "weight"), out, in, rows, 1f, d, 0, 1, out, OpenClDevice.mem(x).mem, 0, in, 1, grad.mem, wOff, in, true, null, 0);
        device.launch1(k.get("bias_grad"), out, d, rows, out, grad, bOff);
        // dx [rows, in] = dy [rows, out] W [out, in]
        if (dx != null) device.gemm(k.get("gemm", "input"), k.get("sum_partials", "input"), rows, in, out, 1f, d, 0, out, 1, value.mem, wOff, in, 1, OpenClDevice.mem(dx).mem, 0, in, false, null, 0);
    }
}
