package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The softmax's exp: within 2 ulp of the correctly rounded e^x on [-87, 0], and the vector kernel
 * bit for bit equal to the scalar one (both are made of IEEE operations only, so neither depends
 * on how the JVM compiled them).
 */
class ExpKernelTest {
    @Test
    void scalarExpIsAccurate() {
        Random rng = new Random(1);
        double worstUlps = 0;
        for (int i = 0; i < 200_000; i++) {
            float x = i < 1000 ? -i * 0.087f : (float) (-87 * rng.nextDouble());
            float got = ScalarKernels.exp(x);
            float want = (float) Math.exp(x);
            if (x <= ScalarKernels.EXP_MIN) {
                assertEquals(0f, got);
                continue;
            }
            worstUlps = Math.max(worstUlps, Math.abs(got - want) / Math.ulp(want));
        }
        assertTrue(worstUlps <= 2, "worst error " + worstUlps + " ulp");
        assertEquals(1f, ScalarKernels.exp(0f));
        assertEquals(0f, ScalarKernels.exp(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(ScalarKernels.exp(Float.NaN)));
    }

    @Test
    void vectorExpEqualsScalarExpBitForBit() {
        Kernels vector = KernelChoice.vector();
        org.junit.jupiter.api.Assumptions.assumeTrue(vector != null, "no Vector API module");
        Random rng = new Random(2);
        int n = 1037; // not a multiple of any vector length: the scalar tail runs too
        float[] x = new float[n], yv = new float[n], ys = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rng.nextGaussian() * 30);
        x[5] = Float.NEGATIVE_INFINITY;
        x[6] = -87f;
        x[7] = -86.99f;
        float max = vector.max(x, 0, n);
        double sv = vector.expShifted(x, 0, n, max, yv, 0);
        double ss = new ScalarKernels(8, 32).expShifted(x, 0, n, max, ys, 0);
        for (int i = 0; i < n; i++) assertEquals(Float.floatToRawIntBits(ys[i]), Float.floatToRawIntBits(yv[i]), "element " + i);
        assertEquals(ss, sv, 1e-5 * ss); // float lanes against one double sum
    }
}
