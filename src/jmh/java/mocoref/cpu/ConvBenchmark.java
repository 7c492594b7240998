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

    Device.Conv2d conv;
    Activation x, y, dx;

    @Setup
    public void setup() {
        String[] p = shape.split("[-@]");
        int in = Integer.parseInt(p[0]), out = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]), stride = Integer.parseInt(p[3]);
        int size = Integer.parseInt(p[4]);
        CpuDevice d = new CpuDevice(threads);
        Device.ConvShape cs = new Device.ConvShape(in, out, k, stride, k / 2, batch, size, size);
        int wn = in * out * k * k;
        Buffer w = d.buffer(wn), g = d.buffer(wn);
        Random rng = new Random(1);
        float[] wv = new float[wn];
        for (int i = 0; i < wn; i++) wv[i] = (float) rng.nextGaussian() * 0.1f;
        d.write(wv, 0, w, 0, wn);
        conv = d.conv2d(cs, new ParamRef(w, g, 0, wn));
        x = Activations.random(d, batch, in, size, size, rng);
        y = d.activation(batch, out, cs.outH(), cs.outW());
        dx = d.activation(batch, in, size, size);
        conv.forward(x, y);
    }

    @Benchmark
    public Activation forward() {
        conv.forward(x, y);
        return y;
    }

    @Benchmark
    public Activation backwardWeight() {
        conv.backwardWeight(y, x);
        return y;
    }

    @Benchmark
    public Activation backward() {
        conv.backwardWeight(y, x);
        conv.backwardInput(y, dx, false);
        return dx;
    }
}
