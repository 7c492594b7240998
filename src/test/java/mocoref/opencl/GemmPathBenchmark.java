package mocoref.opencl;

/**
 * The matrix products of a step's convolutions on this machine's OpenCL device, for choosing a GEMM
 * path; not a test. For each shape [M x K] x [K x N] (the default config's conv1 of layer1, layer3 and
 * layer4 at batch 256, as im2col products, and the logits), the best of five runs of: the tiled
 * {@code gemm} kernel (local-memory tiles, the GPU path) and {@code gemm_vec16} (float16 rows, the CPU
 * path). docs/performance.md has the numbers and CLBlast's on the same shapes.
 *
 * <pre>java -cp target/classes:target/test-classes:JOCL_JAR mocoref.opencl.GemmPathBenchmark</pre>
 */
public final class GemmPathBenchmark {
    private GemmPathBenchmark() {}

    static final int[][] SHAPES = {{16, 200704, 144}, {64, 12544, 576}, {128, 4096, 1152}, {256, 4096, 128}};

    public static void main(String[] args) {
        try (OpenClDevice d = new OpenClDevice(ClRuntime.target(0))) {
            System.out.println(d.describe());
            for (int[] s : SHAPES) {
                int m = s[0], n = s[1], k = s[2];
                OpenClDevice.ClBuffer a = OpenClDevice.mem(d.buffer((long) m * k)), b = OpenClDevice.mem(d.buffer((long) k * n)),
                        c = OpenClDevice.mem(d.buffer((long) m * n));
                d.fill(a, 0, a.floats, 0.5f);
                d.fill(b, 0, b.floats, 0.25f);
                double flop = 2.0 * m * n * k;
                double tiled = best(d, () -> d.gemm(m, n, k, 1f, a.mem, 0, k, 1, b.mem, 0, n, 1, c.mem, 0, n, false, null, 0));
                double vec = best(d, () -> d.launch("gemm_vec16", ClConv2d.vecGrid(n, m, 1), ClConv2d.VEC_LOCAL, m, n, k,
                        a, 0, 0, k, 1, b, 0, 0, n, c, 0, 0, n, false));
                System.out.printf("M %4d N %6d K %5d: tiled gemm %7.1f ms %6.1f GFLOP/s | gemm_vec16 %7.1f ms %6.1f GFLOP/s%n",
                        m, n, k, tiled * 1e3, flop / tiled / 1e9, vec * 1e3, flop / vec / 1e9);
            }
        }
    }

    static double best(OpenClDevice d, Runnable r) {
        r.run();
        d.finish();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            r.run();
            d.finish();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
