package mocoref.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's float32 FMA peak as the JVM reaches it, the yardstick of the kernels' "% of peak"
 * (JMH's {@code PeakBenchmark}, the per-layer table's {@code LayerTiming}): twelve independent FMA
 * chains of the preferred species (more than latency x throughput, 4 x 2 on current x86), no
 * memory traffic.
 */
public final class FmaPeak {
    private FmaPeak() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Flops of one {@link #chains} call of {@code iters} iterations. */
    public static double flops(int iters) {
        return 12.0 * iters * S.length() * 2;
    }

    /** {@code iters} rounds of twelve independent FMA chains; the result keeps the JIT from dropping them. */
    public static float chains(float m, int iters) {
        FloatVector mv = FloatVector.broadcast(S, m), z = FloatVector.broadcast(S, 1e-3f);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z, a9 = z, a10 = z, a11 = z;
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(mv, z);
            a1 = a1.fma(mv, z);
            a2 = a2.fma(mv, z);
            a3 = a3.fma(mv, z);
            a4 = a4.fma(mv, z);
            a5 = a5.fma(mv, z);
            a6 = a6.fma(mv, z);
            a7 = a7.fma(mv, z);
            a8 = a8.fma(mv, z);
            a9 = a9.fma(mv, z);
            a10 = a10.fma(mv, z);
            a11 = a11.fma(mv, z);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    /** GFLOP/s of {@code threads} threads each running {@link #chains} at once: the best of five rounds after a warm-up. */
    public static double gflops(int threads, int iters) {
        double best = 0;
        for (int round = 0; round < 6; round++) {
            Thread[] t = new Thread[threads];
            float[] sink = new float[threads];
            long t0 = System.nanoTime();
            for (int i = 0; i < threads; i++) {
                int id = i;
                t[i] = new Thread(() -> sink[id] = chains(0.999f, iters));
                t[i].start();
            }
            for (Thread th : t) {
                try {
                    th.join();
                } catch (InterruptedException ex) {
                    throw new IllegalStateException(ex);
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (round > 0) best = Math.max(best, flops(iters) * threads / s / 1e9);
        }
        return best;
    }
}
