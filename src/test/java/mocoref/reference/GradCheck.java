package mocoref.reference;

import java.util.Random;
import java.util.function.DoubleSupplier;
import mocoref.tensor.Tensor;

/** Central finite differences in float64, and seeded random tensors for the tests. */
final class GradCheck {
    /** Steps of the central difference, largest first: truncation error ~h^2, rounding ~1e-16/h. */
    static final double[] STEPS = {1e-5, 1e-6, 1e-7};

    private GradCheck() {}

    /**
     * ‖numeric − analytic‖ / ‖analytic‖, perturbing {@code x} in place (and restoring it).
     * {@code loss} must recompute the forward from scratch.
     *
     * <p>A network of ReLUs and max-pools is piecewise smooth: a finite difference whose step
     * crosses a kink measures a mixture of two slopes. The derivative at a differentiable point is
     * the limit of the central difference, so each coordinate takes the largest step whose value
     * agrees with the next smaller step's (the function is smooth at that scale); that is the
     * same derivative with a step short enough to stay on one side of the nearest kink.
     */
    static double relativeError(DoubleSupplier loss, double[] x, double[] analytic) {
        double diff = 0, norm = 0;
        for (int i = 0; i < x.length; i++) {
            double numeric = centralDifference(loss, x, i, STEPS[0]);
            for (int s = 1; s < STEPS.length; s++) {
                double finer = centralDifference(loss, x, i, STEPS[s]);
                boolean smooth = Math.abs(finer - numeric) <= 1e-6 * Math.max(Math.abs(finer), 1e-2);
                numeric = finer;
                if (smooth) break;
            }
            diff += (numeric - analytic[i]) * (numeric - analytic[i]);
            norm += analytic[i] * analytic[i];
        }
        return Math.sqrt(diff / norm);
    }

    private static double centralDifference(DoubleSupplier loss, double[] x, int i, double h) {
        double saved = x[i];
        x[i] = saved + h;
        double plus = loss.getAsDouble();
        x[i] = saved - h;
        double minus = loss.getAsDouble();
        x[i] = saved;
        return (plus - minus) / (2 * h);
    }

    /** Σ dy·y: a scalar whose gradient with respect to y is dy. */
    static double dot(Tensor dy, Tensor y) {
        double s = 0;
        for (int i = 0; i < y.numel(); i++) s += dy.data[i] * y.data[i];
        return s;
    }

    static Tensor randn(Random rng, int... shape) {
        Tensor t = new Tensor(shape);
        for (int i = 0; i < t.numel(); i++) t.data[i] = rng.nextGaussian();
        return t;
    }

    /** Normal values kept at least {@code gap} away from zero, so no finite difference crosses ReLU's kink. */
    static Tensor randnAwayFromZero(Random rng, double gap, int... shape) {
        Tensor t = randn(rng, shape);
        for (int i = 0; i < t.numel(); i++) {
            double v = t.data[i];
            if (Math.abs(v) < gap) t.data[i] = v < 0 ? v - gap : v + gap;
        }
        return t;
    }

    static void fill(Random rng, Tensor t, double lo, double hi) {
        for (int i = 0; i < t.numel(); i++) t.data[i] = lo + (hi - lo) * rng.nextDouble();
    }
}
