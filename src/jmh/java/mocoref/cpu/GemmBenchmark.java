package mocoref.cpu;

import mocoref.parallel.WorkerPool;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The head's and the loss's products on the default shapes (batch 256, dim 128, K 4096, MLP head of
 * width 8*16 = 128), with the strides the logits (CpuDevice) and CpuLinear use: GFLOP/s = 2*m*n*k / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xss8m"})
public class GemmBenchmark {
    @Param({"2"})
    public int threads;

    static final int N = 256, DIM = 128, K = 4096;
    Gemm gemm;
    float[] q, queue, logits, dq, features, weight, hidden;

    @Setup
    public void setup() {
        gemm = new Gemm(Kernels.INSTANCE, WorkerPool.shared(threads));
        Random rng = new Random(1);
        q = random(N * DIM, rng);
        queue = random(DIM * K, rng);
        logits = random(N * (1 + K), rng);
        dq = new float[N * DIM];
        features = random(N * DIM, rng);
        weight = random(DIM * DIM, rng);
        hidden = new float[N * DIM];
    }

    static float[] random(int n, Random rng) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }

    /** logits[:, 1:] = q . queue / T: m 256, n 4096, k 128. */
    @Benchmark
    public float[] logits() {
        gemm.multiply(N, K, DIM, 5f, q, 0, DIM, 1, queue, 0, K, 1, logits, 1, 1 + K, false);
        return logits;
    }

    /** dq = dlogits[:, 1:] . queue^T / T: m 256, n 128, k 4096. */
    @Benchmark
    public float[] logitsBackward() {
        gemm.multiply(N, DIM, K, 5f, logits, 1, 1 + K, 1, queue, 0, 1, K, dq, 0, DIM, false);
        return dq;
    }

    /** fc: x W^T, m 256, n 128, k 128. */
    @Benchmark
    public float[] linear() {
        gemm.multiply(N, DIM, DIM, 1f, features, 0, DIM, 1, weight, 0, 1, DIM, hidden, 0, DIM, false);
        return hidden;
    }
}
