package mocoref.tensor;

import java.util.Arrays;

/** Small helpers on shapes, shared by the float64 and float32 tensor types and by file I/O. */
public final class Shapes {
    private Shapes() {}

    /** Number of elements of a shape; the empty shape (a scalar) has one. Refuses overflow. */
    public static int numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " exceeds a Java array");
            }
        }
        return (int) n;
    }

    public static String str(int... shape) {
        return Arrays.toString(shape);
    }
}
