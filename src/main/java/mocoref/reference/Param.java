package mocoref.reference;

import mocoref.tensor.Tensor;

/** A trainable parameter: its value and the gradient that backward passes add into. */
public final class Param {
    public final Tensor value;
    public final Tensor grad;

    public Param(int... shape) {
        this.value = new Tensor(shape);
        this.grad = new Tensor(shape);
    }

    public void zeroGrad() {
        java.util.Arrays.fill(grad.data, 0.0);
    }
}
