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
 * One convolution of the default model (ResNet-18 layout, width 16, cifar stem, batch 256 of 1x28x28)
 * forward, weight gradient alone, and whole backward (weight and data gradients). GFLOP/s =
 * 2*out*in*k*k*N*OH*OW / time, twice that for the backward.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xss8m"})
public class ConvBenchmark {
    /** in-out-kernel-stride@size: every distinct convolution shape of the default model. */
    @Param({"16-16-3-1@28", "16-32-3-2@28", "16-32-1-2@28", "32-32-3-1@14", "32-64-3-2@14", "64-64-3-1@7",
            "64-128-3-2@7", "128-128-3-1@4"})
    public String shape;

    @Param({"2"})
    public int threads;

    @Param({"256"})
    public int batch;

    CpuConv2d conv;
    float[] x, y, dx;

    @Setup
    public void setup() {
        String[] p = shape.split("[-@]");
        int in = Integer.parseInt(p[0]), out = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]), stride = Integer.parseInt(p[3]);
        int size = Integer.parseInt(p[4]);
        Kernels kernels = Kernels.INSTANCE;
        Params params = new Params();
        Plane src = Plane.of(batch, size, size, kernels.nr());
        conv = new CpuConv2d("conv", params, in, out, k, stride, k / 2, src, kernels, WorkerPool.shared(threads), new Workspace(), true);
        params.allocate(true);
        Random rng = new Random(1);
        for (int i = 0; i < params.value.length; i++) params.value[i] = (float) rng.nextGaussian() * 0.1f;
        x = Activations.random(src, in, rng);
        y = new float[conv.dst.size(out)];
        dx = new float[x.length];
        conv.forward(x, y);
    }

    @Benchmark
    public float[] forward() {
        conv.forward(x, y);
        return y;
    }

    @Benchmark
    public float[] backwardWeight() {
        conv.backward(y, x, null, false);
        return y;
    }

    @Benchmark
    public float[] backward() {
        conv.backward(y, x, dx, false);
        return dx;
    }
}
