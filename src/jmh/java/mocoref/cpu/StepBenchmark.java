package mocoref.cpu;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.reference.ResNet;
import mocoref.tensor.Tensor;
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
 * K 4096, dim 128, MLP head, G 2) and a forward of the encoder alone. images/s = batch / time.
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

    CpuMoCo model;
    StepInput input;

    @Setup
    public void setup() {
        ResNetConfig net = ResNetConfig.preset("resnet18", width, 1, ResNetConfig.Stem.CIFAR, 128, true);
        MocoConfig config = new MocoConfig(net, 4096, 0.99, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.03, 0.9, 1e-4, batch, new int[] {1, 28, 28});
        ResNet ref = new ResNet(net);
        ref.initialize(1);
        Map<String, StoredTensor> init = new HashMap<>(ref.stateDict("encoder_q."));
        init.putAll(ref.stateDict("encoder_k."));
        Random rng = new Random(2);
        double[] queue = new double[128 * 4096];
        for (int j = 0; j < 4096; j++) {
            double norm = 0;
            for (int c = 0; c < 128; c++) {
                queue[c * 4096 + j] = rng.nextGaussian();
                norm += queue[c * 4096 + j] * queue[c * 4096 + j];
            }
            for (int c = 0; c < 128; c++) queue[c * 4096 + j] /= Math.sqrt(norm);
        }
        init.put("queue", StoredTensor.f64(queue, 128, 4096));
        init.put("queue_ptr", StoredTensor.i64(new long[] {0}, 1));
        model = new CpuMoCo(config, init, "random init", threads);
        Tensor q = new Tensor(batch, 1, 28, 28), k = new Tensor(batch, 1, 28, 28);
        for (int i = 0; i < q.numel(); i++) {
            q.data[i] = rng.nextGaussian();
            k.data[i] = rng.nextGaussian();
        }
        int[] idx = new int[batch];
        for (int i = 0; i < batch; i++) idx[i] = (i * 7919) % batch; // a permutation (7919 is prime, batch a power of 2)
        input = new StepInput(q, k, idx, null, config.m(), config.lr());
    }

    @Benchmark
    public StepResult step() {
        return model.step(input);
    }

    @Benchmark
    public float[] encoderForward() {
        return model.encoderK.forward(input.imK().data, null, 2);
    }
}
