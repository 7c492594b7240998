package mocoref.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import mocoref.io.StoredTensor;

/**
 * The state a MoCo run starts from, as {@code MoCo.__init__} in {@code moco/builder.py} makes it,
 * under the golden-case spec's names, in float64: both encoders with torchvision's initialization
 * (encoder_k a copy of encoder_q), a queue of random unit columns, queue_ptr 0. Every backend
 * loads it the same way, so a run's start depends on the seed alone.
 */
public final class FreshState {
    private FreshState() {}

    /** A fresh MoCo state from {@code seed}. */
    public static Map<String, StoredTensor> of(MocoConfig config, long seed) {
        Map<String, StoredTensor> encoder = encoder(ResNetLayout.of(config.model()), seed);
        Map<String, StoredTensor> init = new LinkedHashMap<>();
        encoder.forEach((name, t) -> init.put("encoder_q." + name, t));
        encoder.forEach((name, t) -> init.put("encoder_k." + name, t)); // builder.py: param_k.data.copy_(param_q.data)
        Random rng = new Random(seed ^ 0x5DEECE66DL);
        int dim = config.model().dim(), k = config.K();
        double[] queue = new double[dim * k];
        for (int i = 0; i < queue.length; i++) queue[i] = rng.nextGaussian();
        for (int j = 0; j < k; j++) { // builder.py: nn.functional.normalize(self.queue, dim=0)
            double sq = 0;
            for (int c = 0; c < dim; c++) sq += queue[c * k + j] * queue[c * k + j];
            double norm = Math.max(Math.sqrt(sq), 1e-12);
            for (int c = 0; c < dim; c++) queue[c * k + j] /= norm;
        }
        init.put("queue", StoredTensor.f64(queue, dim, k));
        init.put("queue_ptr", StoredTensor.i64(new long[] {0}, 1));
        return init;
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
