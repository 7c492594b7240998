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
 * BatchNorm of the default model in training mode over MoCo's 2 logical devices, with the block's
 * residual add and ReLU fused in (its most expensive use), forward and backward, and in eval mode.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xss8m"})
public class BatchNormBenchmark {
    /** channels@size */
    @Param({"16@28", "32@14", "64@7", "128@4"})
    public String shape;

    @Param({"2"})
    public int threads;

    @Param({"256"})
    public int batch;

    CpuBatchNorm2d bn;
    float[] x, res, y, dz, dx;

    @Setup
    public void setup() {
        String[] p = shape.split("@");
        int c = Integer.parseInt(p[0]), size = Integer.parseInt(p[1]);
        Kernels kernels = Kernels.INSTANCE;
        Params params = new Params();
        Plane plane = Plane.of(batch, size, size, kernels.nr());
        bn = new CpuBatchNorm2d("bn", params, c, plane, 2, kernels, WorkerPool.shared(threads));
        params.allocate(true);
        java.util.Arrays.fill(params.value, 1f);
        Random rng = new Random(1);
        x = Activations.random(plane, c, rng);
        res = Activations.random(plane, c, rng);
        y = new float[x.length];
        dz = new float[x.length];
        dx = new float[x.length];
        bn.forward(x, res, true, y, 2);
    }

    @Benchmark
    public float[] forwardTrain() {
        bn.forward(x, res, true, y, 2);
        return y;
    }

    @Benchmark
    public float[] backward() {
        bn.backward(res, y, x, dz, dx);
        return dx;
    }

    @Benchmark
    public float[] forwardEval() {
        bn.forwardEval(x, res, true, y);
        return y;
    }
}
