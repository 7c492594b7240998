package mocoref.cpu;

import java.util.Arrays;
import java.util.Random;

/**
 * Run in a fresh JVM by {@link KernelJitDeterminismTest}: calls every kernel that reduces (sums,
 * BatchNorm statistics, the softmax's exp and its sum, the 4x4 dot products) once while the JVM
 * is cold, so that the calls are interpreted, then again after enough calls for C2 to compile
 * them, and prints how many results differ. A kernel whose result depends on whether it has been
 * compiled makes runs of the same command disagree (the Vector API's reduceLanes(ADD) and
 * lanewise(EXP) did: their intrinsics round differently from their fallbacks).
 */
public final class KernelWarmupCheck {
    private KernelWarmupCheck() {}

    public static void main(String[] args) {
        Kernels k = Kernels.INSTANCE;
        float[] cold = run(k), warm = null;
        for (int i = 0; i < 30_000; i++) warm = run(k);
        int differ = 0;
        for (int i = 0; i < cold.length; i++) if (Float.floatToRawIntBits(cold[i]) != Float.floatToRawIntBits(warm[i])) differ++;
        System.out.println(k.name() + " results " + cold.length + " differ " + differ);
    }

    /** Every reducing kernel on fixed data, results in one array. */
    private static float[] run(Kernels k) {
        Random r = new Random(3);
        int n = 1031;
        float[] x = new float[n], y = new float[n], dz = new float[n], out = new float[16];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 10);
            y[i] = (float) r.nextGaussian();
        }
        double[] sums = new double[2], grads = new double[2];
        float[] e = new float[n];
        double expSum = k.expShifted(x, 0, n, k.max(x, 0, n), e, 0);
        k.shiftedSums(x, 0, n, 0.5f, y, 0, sums);
        k.reluGradSums(y, x, x, 0, n, 0.25f, dz, grads);
        k.dot4x4(x, 0, 100, 200, 300, y, 7, 107, 207, 307, 700, out, 0, new float[8 * k.nr()]);
        float[] all = Arrays.copyOf(e, n + 16 + 5);
        System.arraycopy(out, 0, all, n, 16);
        all[n + 16] = (float) expSum;
        all[n + 17] = (float) k.sum(x, 0, n);
        all[n + 18] = (float) sums[1];
        all[n + 19] = (float) grads[0];
        all[n + 20] = (float) grads[1];
        return all;
    }
}
