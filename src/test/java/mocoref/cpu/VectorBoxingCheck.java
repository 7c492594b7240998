package mocoref.cpu;

import java.lang.management.ManagementFactory;
import java.util.Random;
import mocoref.eval.LinearClassifier;

/**
 * Run in a fresh JVM by {@link VectorBoxingTest}: trains the linear probe first, as `train` does
 * for its raw-pixel baseline, and then measures how many bytes the hot cpu kernels (the tile with
 * its epilogue and in place, BatchNorm's backward sums, the gathers) allocate per call once C2 has compiled them. Compiled
 * Vector API code keeps its vectors in registers and allocates nothing; a vector that C2 cannot
 * prove to be of one class is boxed on the heap at every use. That happened when the probe read
 * floats through a second FloatVector shape (256 bits beside the kernels' 512): the shared
 * FloatVector methods saw two classes, and every training step after the baseline allocated about
 * 1 GB/s and ran 16% slower. Prints "bytes per call N" (the least of several rounds).
 */
public final class VectorBoxingCheck {
    private VectorBoxingCheck() {}

    public static void main(String[] args) {
        runProbe();
        Kernels k = Kernels.INSTANCE;
        Random r = new Random(5);
        int n = 4096, kLen = 144, nr = k.nr(), mr = k.mr();
        float[] dy = random(r, n), y = random(r, n), x = random(r, n), dz = new float[n];
        double[] sums = new double[2];
        float[] a = random(r, kLen * mr), b = random(r, 64 * 64 + 2 * nr), c = new float[mr * 64 * 4];
        float[] mask = new float[2 * nr], scratch = new float[8 * nr];
        java.util.Arrays.fill(mask, 1f);
        int[] gatherIndex = new int[256], positions = new int[32];
        for (int i = 0; i < gatherIndex.length; i++) gatherIndex[i] = r.nextInt(n) - 64;
        int[] gatherRows = {64, 64, 64}; // the indexes lie in [-64, n - 64): in x from 64
        for (int i = 0; i < positions.length; i++) positions[i] = i + i / 7; // runs of 7
        float[] xt = new float[positions.length * nr];
        int[] rowOff = new int[kLen];
        for (int i = 0; i < kLen; i++) rowOff[i] = (i % 64) * 64 + i % 9;
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // Rounds until one allocates next to nothing (compiled), or for 20 s: C2 compiles in the
        // background, later on a busy machine, and the least of the rounds is the compiled code's.
        long best = Long.MAX_VALUE, deadline = System.nanoTime() + 20_000_000_000L;
        int calls = 2000;
        while (best >= 256 && System.nanoTime() < deadline) {
            long before = mx.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < calls; i++) {
                k.reluGradSums(dy, (i & 1) == 0 ? y : null, x, 0, n, 0.1f, dz, sums);
                k.tile(a, 0, mr, kLen, b, rowOff, 0, c, 0, 64 * 4, mr, (i & 2) == 0, (i & 4) == 0 ? mask : null, 0, scratch);
                k.tileInto(a, 0, mr, kLen, b, rowOff, 0, c, (i & 3) * mr * nr, (i & 2) == 0);
                k.gather(x, 64, gatherIndex, 0, gatherIndex.length, dz, 0);
                k.gatherRows(x, gatherRows, gatherRows.length, gatherIndex, 0, 64, dz, 0, 64);
                k.transpose(x, 0, 64, nr, (i & 1) == 0 ? null : positions, 0, positions.length, xt, 0, nr); // L channels a gather
                k.transpose(x, 0, 64, nr / 4, (i & 1) == 0 ? null : positions, 0, positions.length, xt, 0, nr / 4); // two positions a gather
            }
            best = Math.min(best, (mx.getCurrentThreadAllocatedBytes() - before) / calls);
        }
        System.out.println(k.name() + " bytes per call " + best);
    }

    /** A few hundred steps of the linear probe on random 784-feature rows (its float-to-double reads included). */
    private static void runProbe() {
        Random r = new Random(7);
        int rows = 512, features = 784;
        float[] feats = random(r, rows * features);
        int[] labels = new int[rows], order = new int[64];
        for (int i = 0; i < rows; i++) labels[i] = r.nextInt(10);
        LinearClassifier probe = new LinearClassifier(features, 10, 0.9, 0, 1, 1);
        for (int step = 0; step < 600; step++) {
            for (int i = 0; i < order.length; i++) order[i] = r.nextInt(rows);
            probe.step(feats, order, labels, 0.01);
        }
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }
}
