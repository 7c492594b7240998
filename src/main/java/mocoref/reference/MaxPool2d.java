package mocoref.reference;

import mocoref.tensor.Tensor;

/**
 * Max pooling over square windows (the ImageNet stem's 3x3, stride 2, padding 1). Padding never
 * wins: it stands for minus infinity. Among equal maxima the first in row-major window order wins,
 * which is PyTorch's choice (it replaces the running maximum only on a strictly greater value), so
 * the gradient goes to the same input element as in PyTorch.
 */
public final class MaxPool2d {
    public final int kernel;
    public final int stride;
    public final int padding;

    private int[] argmax; // saved: flat input index that won each output
    private int[] inputShape;

    public MaxPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    public int outSize(int in) {
        return (in + 2 * padding - kernel) / stride + 1;
    }

    /** x [N, C, H, W] -> y [N, C, OH, OW]. */
    public Tensor forward(Tensor x) {
        int n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
        int oh = outSize(h), ow = outSize(w);
        Tensor y = new Tensor(n, c, oh, ow);
        argmax = new int[y.numel()];
        inputShape = x.shape.clone();
        for (int plane = 0; plane < n * c; plane++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double best = Double.NEGATIVE_INFINITY;
                    int bestAt = -1;
                    for (int u = 0; u < kernel; u++) {
                        int r = i * stride + u - padding;
                        if (r < 0 || r >= h) continue;
                        for (int v = 0; v < kernel; v++) {
                            int s = j * stride + v - padding;
                            if (s < 0 || s >= w) continue;
                            int at = (plane * h + r) * w + s;
                            double val = x.data[at];
                            if (val > best || Double.isNaN(val) || bestAt < 0) {
                                best = val;
                                bestAt = at;
                            }
                        }
                    }
                    int out = (plane * oh + i) * ow + j;
                    y.data[out] = best;
                    argmax[out] = bestAt;
                }
            }
        }
        return y;
    }

    /** dy [N, C, OH, OW] -> dx [N, C, H, W]: each output's gradient goes to the input that won it. */
    public Tensor backward(Tensor dy) {
        Tensor dx = new Tensor(inputShape);
        for (int out = 0; out < dy.numel(); out++) dx.data[argmax[out]] += dy.data[out];
        return dx;
    }
}
