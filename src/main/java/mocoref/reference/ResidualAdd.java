package mocoref.reference;

import mocoref.tensor.Tensor;

/** The residual connection {@code y = a + b}; its gradient reaches both branches unchanged. */
public final class ResidualAdd {
    /** a, b (same shape) -> y. */
    public Tensor forward(Tensor a, Tensor b) {
        if (!a.sameShape(b)) throw new IllegalArgumentException("residual add of " + a + " and " + b);
        Tensor y = new Tensor(a.shape);
        for (int i = 0; i < y.numel(); i++) y.data[i] = a.data[i] + b.data[i];
        return y;
    }

    /** dy -> the gradient of either input: a copy of dy (callers own their gradients). */
    public Tensor backward(Tensor dy) {
        return dy.copy();
    }
}
