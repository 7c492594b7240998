package mocoref.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import mocoref.io.StoredTensor;

/**
 * The state a MoCo run starts from, as {@code MoCo.__init__} in {@code moco/builder.py} makes it,
 * under the golden-case spec's names, in float64: both encoders with torchvision's initialization
 * (encoder_k a copy of encoder_q), a queue of random unit columns, queue_ptr 0 (and for the other
 * mechanisms of the paper's comparison, what they keep). Every backend loads it the same way, so
 * a run's start depends on the seed alone.
 */
public final class FreshState {
    private FreshState() {}

    /** A fresh state of MoCo or end-to-end from {@code seed} (the memory bank needs its size: {@link #of(MocoConfig, long, int)}). */
    public static Map<String, StoredTensor> of(MocoConfig config, long seed) {
        if (config.mechanism() == MocoConfig.Mechanism.MEMORY_BANK) {
            throw new IllegalArgumentException("a memory bank's fresh state needs the number of training images");
        }
        return of(config, seed, 0);
    }

    /**
     * A fresh state from {@code seed}: encoder_q, and for MoCo encoder_k (a copy), the queue and its
     * pointer; for the memory bank, {@code bank} [bankSize, dim] of random unit rows (one per training image).
     */
    public static Map<String, StoredTensor> of(MocoConfig config, long seed, int bankSize) {
        Map<String, StoredTensor> encoder = encoder(ResNetLayout.of(config.model()), seed);
        Map<String, StoredTensor> init = new LinkedHashMap<>();
        encoder.forEach((name, t) -> init.put("encoder_q." + name, t));
        Random rng = new Random(seed ^ 0x5DEECE66DL);
        int dim = config.model().dim();
        switch (config.mechanism()) {
            case MOCO -> {
                encoder.forEach((name, t) -> init.put("encoder_k." + name, t)); // builder.py: param_k.data.copy_(param_q.data)
                // builder.py: torch.randn(dim, K), then nn.functional.normalize(self.queue, dim=0)
                init.put("queue", StoredTensor.f64(unitColumns(rng, dim, config.K()), dim, config.K()));
                init.put("queue_ptr", StoredTensor.i64(new long[] {0}, 1));
            }
            case MEMORY_BANK -> {
                if (bankSize < 1) throw new IllegalArgumentException("a memory bank needs at least one row, got " + bankSize);
                double[] columns = unitColumns(rng, dim, bankSize), rows = new double[dim * bankSize];
                for (int i = 0; i < bankSize; i++) for (int c = 0; c < dim; c++) rows[i * dim + c] = columns[c * bankSize + i];
                init.put("bank", StoredTensor.f64(rows, bankSize, dim));
            }
            case END_TO_END -> { } // the batch is the dictionary: no state beside encoder_q
            default -> throw new IllegalStateException();
        }
        return init;
    }

    /** [dim, k] standard-normal values, each column scaled to unit length. */
    private static double[] unitColumns(Random rng, int dim, int k) {
        double[] x = new double[dim * k];
        for (int i = 0; i < x.length; i++) x[i] = rng.nextGaussian();
        for (int j = 0; j < k; j++) {
            double sq = 0;
            for (int c = 0; c < dim; c++) sq += x[c * k + j] * x[c * k + j];
            double norm = Math.max(Math.sqrt(sq), 1e-12);
            for (int c = 0; c < dim; c++) x[c * k + j] /= norm;
        }
        return x;
    }

    /**
     * torchvision's initialization of one encoder, as its state dict: convolutions Kaiming-normal
     * (fan_out, ReLU gain), BatchNorm gamma 1, beta 0, running mean 0 and variance 1, Linear layers
     * uniform in +-1/sqrt(fan_in) (PyTorch's default). Draws in module order from one Random.
     */
    public static Map<String, StoredTensor> encoder(ResNetLayout layout, long seed) {
        Random rng = new Random(seed);
        Map<String, StoredTensor> state = new LinkedHashMap<>();
        for (Object m : layout.modules()) {
            if (m instanceof ResNetLayout.Conv c) {
                double std = Math.sqrt(2.0 / (c.out() * c.kernel() * c.kernel()));
                double[] w = new double[c.out() * c.in() * c.kernel() * c.kernel()];
                for (int i = 0; i < w.length; i++) w[i] = rng.nextGaussian() * std;
                state.put(c.name() + ".weight", StoredTensor.f64(w, c.weightShape()));
            } else if (m instanceof ResNetLayout.Norm n) {
                double[] ones = new double[n.channels()];
                java.util.Arrays.fill(ones, 1.0);
                state.put(n.name() + ".weight", StoredTensor.f64(ones.clone(), n.channels()));
                state.put(n.name() + ".bias", StoredTensor.f64(new double[n.channels()], n.channels()));
                state.put(n.name() + ".running_mean", StoredTensor.f64(new double[n.channels()], n.channels()));
                state.put(n.name() + ".running_var", StoredTensor.f64(ones, n.channels()));
                state.put(n.name() + ".num_batches_tracked", StoredTensor.i64(new long[] {0}));
            } else if (m instanceof ResNetLayout.Linear l) {
                double bound = 1.0 / Math.sqrt(l.in());
                double[] w = new double[l.out() * l.in()], b = new double[l.out()];
                for (int i = 0; i < w.length; i++) w[i] = (2 * rng.nextDouble() - 1) * bound;
                for (int i = 0; i < b.length; i++) b[i] = (2 * rng.nextDouble() - 1) * bound;
                state.put(l.name() + ".weight", StoredTensor.f64(w, l.out(), l.in()));
                state.put(l.name() + ".bias", StoredTensor.f64(b, l.out()));
            }
        }
        return state;
    }
}
