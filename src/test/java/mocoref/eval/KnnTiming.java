package mocoref.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Times {@link Knn#evaluate} at the monitor's size (10k queries, 60k bank, 128 dims, k 200, 10
 * classes) on random data; not a test. Prints the kernel and the median of the runs.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.eval.KnnTiming [threads] [runs] [queries] [bank] [dim]</pre>
 */
public final class KnnTiming {
    private KnnTiming() {}

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int m = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        int n = args.length > 3 ? Integer.parseInt(args[3]) : 60_000;
        int dim = args.length > 4 ? Integer.parseInt(args[4]) : 128;
        SplittableRandom rng = new SplittableRandom(1);
        // One draw of cluster centres for both, as a trained encoder's train and test features share classes.
        float[] all = KnnTest.clustered(rng, n + m, dim, 10, 1f);
        float[] bank = Arrays.copyOf(all, n * dim);
        float[] queries = Arrays.copyOfRange(all, n * dim, (n + m) * dim);
        int[] bankLabels = KnnTest.cyclic(n, 10);
        int[] queryLabels = Arrays.copyOfRange(KnnTest.cyclic(n + m, 10), n, n + m);
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        double[] s = new double[runs];
        double[] cpu = new double[runs];
        KnnResult r = null;
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            long c0 = os.getProcessCpuTime();
            r = Knn.evaluate(bank, bankLabels, queries, queryLabels, dim, 10, 200, 0.1, threads);
            s[i] = (System.nanoTime() - t0) / 1e9;
            cpu[i] = (os.getProcessCpuTime() - c0) / 1e9;
        }
        Arrays.sort(s);
        Arrays.sort(cpu);
        // CPU time too: on a shared machine the wall time says as much about the neighbours.
        System.out.printf("%s, %d threads: %d x %d x %d, k 200: median %.2f s (min %.2f, max %.2f), median CPU %.2f s; top-1 %.4f top-5 %.4f%n",
                SimilarityKernel.pick().name(), threads, m, n, dim, s[runs / 2], s[0], s[runs - 1], cpu[runs / 2], r.top1(), r.top5());
    }
}
