package mocoref.io;

import java.lang.reflect.Array;
import java.util.Arrays;
import java.util.Objects;
import mocoref.MocoRefException;
import mocoref.tensor.Shapes;
import mocoref.tensor.Tensor;

/**
 * One tensor as stored: dtype, shape ({@code []} is a scalar) and data, which is a
 * {@code double[]} for F64, a {@code float[]} for F32 and a {@code long[]} for I64.
 *
 * <p>The data array is shared, not copied, so that multi-gigabyte checkpoints are not held twice;
 * the shape is copied in and out because it decides how the data is laid out in a file.
 * Equality compares contents, not array identities.
 */
public record StoredTensor(DType dtype, int[] shape, Object data) {

    public StoredTensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        shape = shape.clone();
        int n = Shapes.numel(shape);
        Class<?> expected = arrayType(dtype);
        if (data.getClass() != expected) {
            throw new IllegalArgumentException(dtype + " data must be a " + expected.getSimpleName()
                    + ", got " + data.getClass().getSimpleName());
        }
        int length = Array.getLength(data);
        if (length != n) {
            throw new IllegalArgumentException(
                    "shape " + Shapes.str(shape) + " holds " + n + " values, data has " + length);
        }
    }

    /** An F64 tensor wrapping {@code data}. */
    public static StoredTensor f64(double[] data, int... shape) {
        return new StoredTensor(DType.F64, shape, data);
    }

    /** An F32 tensor wrapping {@code data}. */
    public static StoredTensor f32(float[] data, int... shape) {
        return new StoredTensor(DType.F32, shape, data);
    }

    /** An I64 tensor wrapping {@code data}. */
    public static StoredTensor i64(long[] data, int... shape) {
        return new StoredTensor(DType.I64, shape, data);
    }

    /** An F64 tensor sharing {@code t}'s data array. */
    public static StoredTensor of(Tensor t) {
        return f64(t.data, t.shape);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public int numel() {
        return Array.getLength(data);
    }

    /** The values as a new double[]: F32 widened, I64 converted (exact up to 2^53). */
    public double[] toDoubles() {
        return switch (dtype) {
            case F64 -> ((double[]) data).clone();
            case F32 -> {
                float[] f = (float[]) data;
                double[] out = new double[f.length];
                for (int i = 0; i < f.length; i++) out[i] = f[i];
                yield out;
            }
            case I64 -> {
                long[] l = (long[]) data;
                double[] out = new double[l.length];
                for (int i = 0; i < l.length; i++) out[i] = l[i];
                yield out;
            }
        };
    }

    /** The values as a new float[]: F64 rounded to nearest, I64 converted. */
    public float[] toFloats() {
        return switch (dtype) {
            case F32 -> ((float[]) data).clone();
            case F64 -> {
                double[] d = (double[]) data;
                float[] out = new float[d.length];
                for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
                yield out;
            }
            case I64 -> {
                long[] l = (long[]) data;
                float[] out = new float[l.length];
                for (int i = 0; i < l.length; i++) out[i] = l[i];
                yield out;
            }
        };
    }

    /**
     * The values as a new long[]. Float data is accepted only when every value is an integer, so
     * that labels or counts saved as floats by another tool still load, but real weights do not.
     */
    public long[] toLongs() {
        if (dtype == DType.I64) return ((long[]) data).clone();
        double[] d = toDoubles();
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            double v = d[i];
            // The upper bound is exclusive: 2^63 rounds to Long.MAX_VALUE on a cast and would come back changed.
            if (!(v >= -0x1p63 && v < 0x1p63 && v == Math.rint(v))) {
                throw new MocoRefException(dtype + " tensor " + Shapes.str(shape) + " holds " + v
                        + " at index " + i + ", which is not an integer; integer data was expected");
            }
            out[i] = (long) v;
        }
        return out;
    }

    /** A float64 Tensor of this shape holding a copy of the values. */
    public Tensor toTensor() {
        return new Tensor(toDoubles(), shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StoredTensor t
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && Objects.deepEquals(data, t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), Arrays.deepHashCode(new Object[] {data}));
    }

    @Override
    public String toString() {
        return "StoredTensor[" + dtype + " " + Shapes.str(shape) + "]";
    }

    private static Class<?> arrayType(DType dtype) {
        return switch (dtype) {
            case F64 -> double[].class;
            case F32 -> float[].class;
            case I64 -> long[].class;
        };
    }
}
