package mocoref.cpu;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.registry.Backends;
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
 * A whole MoCo step on the default configuration (ResNet-18 layout, cifar stem, 1x28x28, batch 256,
 * K 4096, dim 128, MLP head, G 2) and an eval-mode forward of the encoder alone. images/s = batch / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xss8m", "-Xmx6g"})
public class StepBenchmark {
    @Param({"16"})
    public int width;

    @Param({"2"})
    public int threads;

    @Param({"256"})
    public int batch;

    MocoModel model;
    StepInput input;

    @Setup
    public void setup() {
        ResNetConfig net = ResNetConfig.preset("resnet18", width, 1, ResNetConfig.Stem.CIFAR, 128, true);
        MocoConfig config = new MocoConfig(net, 4096, 0.99, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.03, 0.9, 1e-4, batch, new int[] {1, 28, 28});
        model = Backends.byName("cpu", threads).create(config, FreshState.of(config, 1), "random init");
        Random rng = new Random(2);
        float[] q = new float[batch * 784], k = new float[batch * 784];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rng.nextGaussian();
            k[i] = (float) rng.nextGaussian();
        }
        int[] idx = new int[batch];
        for (int i = 0; i < batch; i++) idx[i] = (i * 7919) % batch; // a permutation (7919 is prime, batch a power of 2)
        input = new StepInput(ImageBatch.of(q, batch, 1, 28, 28), ImageBatch.of(k, batch, 1, 28, 28), idx, null, config.m(),
                config.lr(), false);
    }

    @Benchmark
    public StepResult step() {
        return model.step(input);
    }

    @Benchmark
    public Encoder.Encoded encoderForward() {
        return model.encoderQ().encode(input.imK());
    }
}
