package mocoref.tensor;

import java.util.Arrays;

/**
 * A float64 tensor: a shape and one contiguous row-major array, nothing else.
 *
 * <p>The reference backend computes only with these. There is no autograd: each layer owns its
 * forward and its backward, and a tensor is just the numbers plus how to index them.
 */
public final class Tensor {
    public final int[] shape;
    public final double[] data;

    /** A zero tensor of the given shape. */
    public Tensor(int... shape) {
        this(new double[Shapes.numel(shape)], shape);
    }

    /** Wraps {@code data} (not copied) with the given shape; the sizes must agree. */
    public Tensor(double[] data, int... shape) {
        int n = Shapes.numel(shape);
        if (n != data.length) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " holds " + n + " values, data has " + data.length);
        }
        this.shape = shape.clone();
        this.data = data;
    }

    public int numel() {
        return data.length;
    }

    public int rank() {
        return shape.length;
    }

    public int size(int dim) {
        return shape[dim];
    }

    public Tensor copy() {
        return new Tensor(data.clone(), shape);
    }

    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
