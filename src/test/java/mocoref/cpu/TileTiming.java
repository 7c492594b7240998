package mocoref.cpu;

/**
 * The micro-kernel alone on one thread, {@link Kernels#tile} called over and over on the same A
 * and B: how fast it is when its operands sit in cache, against which the convolutions' in-place
 * speed is read (docs/performance.md, "third sitting"). B has 64 rows {@code stride} floats apart
 * (64: all in L1; 2048: 512 KiB, from L2); with {@code shift} each k's row starts at a different
 * unaligned offset, as a 3x3 convolution's taps do.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.cpu.TileTiming kLen stride [shift]</pre>
 */
public final class TileTiming {
    private TileTiming() {}

    public static void main(String[] args) {
        Kernels k = Kernels.INSTANCE;
        int kLen = Integer.parseInt(args[0]), stride = Integer.parseInt(args[1]);
        boolean shifted = args.length > 2 && args[2].equals("shift");
        int mr = k.mr(), nr = k.nr(), rows = 64;
        float[] a = new float[kLen * mr];
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i);
        float[] b = new float[rows * stride + 256];
        for (int i = 0; i < b.length; i++) b[i] = (float) Math.cos(i);
        int[] rowOff = new int[kLen];
        for (int i = 0; i < kLen; i++) rowOff[i] = (i % rows) * stride + (shifted ? (i % 9) * 3 + 1 : 0);
        float[] c = new float[mr * nr], t = new float[8 * nr];
        int calls = 200_000;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) k.tile(a, 0, mr, kLen, b, rowOff, 0, c, 0, nr, mr, false, null, 0, t);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%s, k %d, B rows %d floats apart%s: %.1f GFLOP/s%n", k.name(), kLen, stride,
                    shifted ? ", shifted" : "", 2.0 * kLen * mr * nr * calls / s / 1e9);
        }
    }
}
