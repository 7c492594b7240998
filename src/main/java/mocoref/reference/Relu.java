package mocoref.reference;

import mocoref.tensor.Tensor;

/** max(x, 0), elementwise; its gradient is taken as 0 at x = 0, as PyTorch does. */
public final class Relu {
    private Tensor output; // saved: where it is positive the gradient passes

    /** x (any shape) -> y (same shape). */
    public Tensor forward(Tensor x) {
        Tensor y = new Tensor(x.shape);
        for (int i = 0; i < x.numel(); i++) y.data[i] = x.data[i] > 0 ? x.data[i] : 0.0;
        output = y;
        return y;
    }

    /** dy -> dx, same shape. */
    public Tensor backward(Tensor dy) {
        Tensor dx = new Tensor(dy.shape);
        for (int i = 0; i < dy.numel(); i++) dx.data[i] = output.data[i] > 0 ? dy.data[i] : 0.0;
        return dx;
    }
}
