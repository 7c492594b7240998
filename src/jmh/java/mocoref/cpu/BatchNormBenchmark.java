package mocoref.cpu;

import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;


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

    Device.BatchNorm2d bn;
    Activation x, res, y, dz, dx;

    @Setup
    public void setup() {
        String[] p = shape.split("@");
        int c = Integer.parseInt(p[0]), size = Integer.parseInt(p[1]);
        CpuDevice d = new CpuDevice(threads);
        Buffer params = d.buffer(2 * c), grads = d.buffer(2 * c), stats = d.buffer(2 * c);
        d.fill(params, 0, 2 * c, 1f);
        d.fill(stats, c, c, 1f);
        bn = d.batchNorm2d(c, batch, size, size, 2, new ParamRef(params, grads, 0, c), new ParamRef(params, grads, c, c), stats, 0, c);
        Random rng = new Random(1);
        x = Activations.random(d, batch, c, size, size, rng);
        res = Activations.random(d, batch, c, size, size, rng);
        y = d.activation(batch, c, size, size);
        dz = d.activation(batch, c, size, size);
        dx = d.activation(batch, c, size, size);
        bn.forwardTrain(x, res, true, y, 2);
    }

    @Benchmark
    public Activation forwardTrain() {
        bn.forwardTrain(x, res, true, y, 2);
        return y;
    }

    @Benchmark
    public Activation backward() {
        bn.backward(res, y, x, dz, dx);
        return dx;
    }

    @Benchmark
    public Activation forwardEval() {
        bn.forwardEval(x, res, true, y);
        return y;
    }
}
