package mocoref.cpu;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import mocoref.backend.StepInput;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.reference.ResNet;
import mocoref.tensor.Tensor;

/**
 * Times the cpu backend's MoCo step on the default configuration (ResNet-18 layout, cifar stem,
 * 1x28x28, batch 256, K 4096, dim 128, MLP head, G 2), for use while optimizing; not a test.
 * Prints the median ms per step and images/s, then the medians of the step's parts.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.cpu.CpuStepTiming [width] [threads] [steps]</pre>
 */
public final class CpuStepTiming {
    private CpuStepTiming() {}

    public static void main(String[] args) {
        int width = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 256;
        MocoConfig config = defaultConfig(width, batch);
        CpuMoCo model = new CpuMoCo(config, randomInit(config, 1), "random init", threads);
        Random rng = new Random(2);
        StepInput in = randomInput(config, rng);
        System.out.printf("width %d, %d threads, batch %d, %s%n", width, threads, batch, model.describe());
        double[] ms = new double[steps];
        for (int s = -2; s < steps; s++) { // two warm-up steps
            long t0 = System.nanoTime();
            model.step(in);
            if (s >= 0) ms[s] = (System.nanoTime() - t0) / 1e6;
        }
        double med = median(ms);
        System.out.printf("step: median %.1f ms (min %.1f) over %d steps = %.0f images/s%n", med,
                Arrays.stream(ms).min().orElse(0), steps, batch * 1000 / med);
        // the parts, each timed alone
        double[] qf = new double[steps], kf = new double[steps], bw = new double[steps];
        float[] dOut = new float[batch * config.model().dim()];
        Arrays.fill(dOut, 1e-3f);
        for (int s = 0; s < steps; s++) {
            long t0 = System.nanoTime();
            model.encoderQ.forward(in.imQ().data, null, config.devices());
            long t1 = System.nanoTime();
            model.encoderK.forward(in.imK().data, in.idxShuffle(), config.devices());
            long t2 = System.nanoTime();
            model.encoderQ.backward(dOut);
            long t3 = System.nanoTime();
            qf[s] = (t1 - t0) / 1e6;
            kf[s] = (t2 - t1) / 1e6;
            bw[s] = (t3 - t2) / 1e6;
        }
        System.out.printf("query forward %.1f ms, key forward %.1f ms, query backward %.1f ms, rest %.1f ms%n",
                median(qf), median(kf), median(bw), med - median(qf) - median(kf) - median(bw));
        convolutions(model.encoderQ, steps);
    }

    /** Each convolution of the encoder alone on random activations: forward and backward ms, and GFLOP/s. */
    static void convolutions(CpuResNet net, int reps) {
        Random rng = new Random(3);
        double fwdTotal = 0, bwdTotal = 0;
        for (Map.Entry<String, Object> e : net.modules().entrySet()) {
            if (!(e.getValue() instanceof CpuConv2d conv)) continue;
            float[] x = new float[conv.src.size(conv.inChannels)], y = new float[conv.dst.size(conv.outChannels)];
            float[] dx = new float[x.length];
            for (int i = 0; i < x.length; i++) x[i] = rng.nextFloat();
            double[] f = new double[reps], b = new double[reps], wg = new double[reps];
            for (int r = 0; r < reps; r++) {
                long t0 = System.nanoTime();
                conv.forward(x, y);
                long t1 = System.nanoTime();
                conv.backward(y, x, e.getKey().equals("conv1") ? null : dx, false);
                long t2 = System.nanoTime();
                conv.backward(y, x, null, false); // the weight gradient alone
                long t3 = System.nanoTime();
                f[r] = (t1 - t0) / 1e6;
                b[r] = (t2 - t1) / 1e6;
                wg[r] = (t3 - t2) / 1e6;
            }
            double flop = 2.0 * conv.outChannels * conv.inChannels * conv.kernel * conv.kernel
                    * conv.dst.n() * conv.dst.h() * conv.dst.w();
            System.out.printf("  %-22s %-7s fwd %7.2f ms %6.1f GFLOP/s   bwd %7.2f ms %6.1f GFLOP/s   dW %7.2f ms %6.1f GFLOP/s%n",
                    e.getKey(), conv.direct ? "direct" : "im2col", median(f), flop / median(f) / 1e6,
                    median(b), (e.getKey().equals("conv1") ? 1 : 2) * flop / median(b) / 1e6,
                    median(wg), flop / median(wg) / 1e6);
            fwdTotal += median(f);
            bwdTotal += median(b);
        }
        System.out.printf("  convolutions: forward %.1f ms, backward %.1f ms%n", fwdTotal, bwdTotal);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static MocoConfig defaultConfig(int width, int batch) {
        ResNetConfig net = ResNetConfig.preset("resnet18", width, 1, ResNetConfig.Stem.CIFAR, 128, true);
        return new MocoConfig(net, 4096, 0.99, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.03, 0.9, 1e-4, batch, new int[] {1, 28, 28});
    }

    /** torchvision-initialized encoders (encoder_k = encoder_q) and a random normalized queue. */
    static Map<String, StoredTensor> randomInit(MocoConfig config, long seed) {
        ResNet net = new ResNet(config.model());
        net.initialize(seed);
        Map<String, StoredTensor> init = new HashMap<>(net.stateDict("encoder_q."));
        init.putAll(net.stateDict("encoder_k."));
        int dim = config.model().dim(), k = config.K();
        Random rng = new Random(seed + 1);
        double[] queue = new double[dim * k];
        for (int j = 0; j < k; j++) {
            double norm = 0;
            for (int c = 0; c < dim; c++) {
                queue[c * k + j] = rng.nextGaussian();
                norm += queue[c * k + j] * queue[c * k + j];
            }
            for (int c = 0; c < dim; c++) queue[c * k + j] /= Math.sqrt(norm);
        }
        init.put("queue", StoredTensor.f64(queue, dim, k));
        init.put("queue_ptr", StoredTensor.i64(new long[] {0}, 1));
        return init;
    }

    static StepInput randomInput(MocoConfig config, Random rng) {
        int n = config.batch();
        int[] shape = {n, config.image()[0], config.image()[1], config.image()[2]};
        Tensor q = new Tensor(shape), k = new Tensor(shape);
        for (int i = 0; i < q.numel(); i++) {
            q.data[i] = rng.nextGaussian();
            k.data[i] = rng.nextGaussian();
        }
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return new StepInput(q, k, idx, null, config.m(), config.lr());
    }
}
