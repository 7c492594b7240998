package mocoref.cpu;

import java.util.ArrayList;
import java.util.List;

/**
 * Every trainable parameter of an encoder in one flat float array, in torchvision's state-dict
 * order, with its gradient beside it: the momentum update, SGD and zeroing gradients are then single
 * loops over one array. Layers keep the offset of their slice.
 */
final class Params {
    /** A parameter's torchvision name (without prefix), shape and where its values start. */
    record Entry(String name, int[] shape, int offset, int size) {}

    private final List<Entry> entries = new ArrayList<>();
    private int total;
    float[] value;
    float[] grad;

    /** Reserves a parameter and returns its offset; call before {@link #allocate}. */
    int add(String name, int... shape) {
        int size = 1;
        for (int d : shape) size *= d;
        entries.add(new Entry(name, shape.clone(), total, size));
        total += size;
        return total - size;
    }

    void allocate(boolean withGrad) {
        value = new float[total];
        grad = withGrad ? new float[total] : null;
    }

    List<Entry> entries() {
        return entries;
    }

    int total() {
        return total;
    }

    void zeroGrad() {
        java.util.Arrays.fill(grad, 0f);
    }
}
