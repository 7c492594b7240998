package mocoref.float32;

import java.util.Arrays;
import java.util.Random;
import mocoref.backend.ImageBatch;
import mocoref.backend.StepInput;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.model.ResNetLayout;
import mocoref.registry.Backends;
import mocoref.tensor.Permutations;

/**
 * Times a float32 backend's MoCo step on the default configuration (ResNet-18 layout, cifar stem,
 * 1x28x28, batch 256, K 4096, dim 128, MLP head, G 2), for use while optimizing; not a test.
 * Prints the median ms per step and images/s, the medians of the step's parts, then every
 * distinct convolution shape of the encoder alone (forward, input gradient, weight gradient) with
 * its GFLOP/s (LayerTiming's rows).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.float32.StepTiming [backend] [width] [threads] [steps] [batch] [arch]</pre>
 * (with {@code '-XX:CompileCommand=exclude,mocoref.cpu.CpuConv2d::<init>'} for the per-layer rows, as
 * {@code mocoref.cpu.ConvTiming} says)
 */
public final class StepTiming {
    private StepTiming() {}

    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "cpu";
        int width = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        int batch = args.length > 4 ? Integer.parseInt(args[4]) : 256;
        String arch = args.length > 5 ? args[5] : "resnet18";
        MocoConfig config = defaultConfig(arch, width, batch);
        Float32Backend b = (Float32Backend) Backends.byName(backend, threads);
        Float32MoCo model = (Float32MoCo) b.create(config, FreshState.of(config, 1), "random init");
        Random rng = new Random(2);
        StepInput in = randomInput(config, rng);
        System.out.printf("%s width %d, batch %d, %s%n", arch, width, batch, b.describe());
        double[] ms = new double[steps];
        for (int s = -2; s < steps; s++) { // two warm-up steps
            long t0 = System.nanoTime();
            model.step(in);
            if (s >= 0) ms[s] = (System.nanoTime() - t0) / 1e6;
        }
        double med = median(ms);
        System.out.printf("step: median %.1f ms (min %.1f) over %d steps = %.0f images/s%n", med,
                Arrays.stream(ms).min().orElse(0), steps, batch * 1000 / med);
        Device d = model.device();
        double[] qf = new double[steps], kf = new double[steps], bw = new double[steps];
        Buffer dOut = d.buffer((long) batch * config.model().dim());
        d.fill(dOut, 0, dOut.floats(), 1e-3f);
        d.writeImages(in.imQ().floats(), 0, model.encoderQ.input());
        d.writeImages(in.imK().floats(), 0, model.encoderK.input());
        for (int s = 0; s < steps; s++) {
            long t0 = System.nanoTime();
            model.encoderQ.forward(config.devices());
            long t1 = System.nanoTime();
            model.encoderK.forward(config.devices());
            long t2 = System.nanoTime();
            model.encoderQ.backward(dOut);
            long t3 = System.nanoTime();
            qf[s] = (t1 - t0) / 1e6;
            kf[s] = (t2 - t1) / 1e6;
            bw[s] = (t3 - t2) / 1e6;
        }
        System.out.printf("query forward %.1f ms, key forward %.1f ms, query backward %.1f ms, rest %.1f ms%n",
                median(qf), median(kf), median(bw), med - median(qf) - median(kf) - median(bw));
        convolutions(d, ResNetLayout.of(config.model()), batch, config.image(), steps);
    }

    /** Each distinct convolution shape alone (LayerTiming's rows): ms and GFLOP/s, and the encoder's totals. */
    static void convolutions(Device d, ResNetLayout layout, int n, int[] image, int reps) {
        double fwdTotal = 0, bwdTotal = 0;
        for (LayerTiming.Row r : LayerTiming.convolutions(d, layout, n, image, reps)) {
            System.out.printf("  %-32s %-22s %-3s %7.2f ms %6.1f GFLOP/s%n", r.name(), r.shape(), r.pass(), r.ms(), r.flop() / r.ms() / 1e6);
            if (r.pass().equals("fwd")) fwdTotal += r.count() * r.ms();
            else bwdTotal += r.count() * r.ms();
        }
        System.out.printf("  convolutions: forward %.1f ms, backward %.1f ms%n", fwdTotal, bwdTotal);
    }

    static double median(double[] v) {
        return LayerTiming.median(v);
    }

    /** The benchmark's MoCo config at {@code arch} (resnet18 is bench's default, resnet10 train's). */
    static MocoConfig defaultConfig(String arch, int width, int batch) {
        ResNetConfig net = ResNetConfig.preset(arch, width, 1, ResNetConfig.Stem.CIFAR, 128, true);
        return new MocoConfig(net, 4096, 0.99, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.03, 0.9, 1e-4, batch, new int[] {1, 28, 28});
    }

    static StepInput randomInput(MocoConfig config, Random rng) {
        int n = config.batch(), size = n * config.image()[0] * config.image()[1] * config.image()[2];
        float[] q = new float[size], k = new float[size];
        for (int i = 0; i < size; i++) {
            q[i] = (float) rng.nextGaussian();
            k[i] = (float) rng.nextGaussian();
        }
        int[] img = config.image();
        return new StepInput(ImageBatch.of(q, n, img[0], img[1], img[2]), ImageBatch.of(k, n, img[0], img[1], img[2]),
                Permutations.random(rng, n), null, config.m(), config.lr(), false);
    }
}
