package mocoref.cpu;

import java.util.Arrays;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Tensor;

/**
 * The cpu backend's eval-mode encoder (BatchNorm with its running statistics), for features, kNN and
 * linear probes: a {@link CpuResNet} without gradients, built for the largest batch seen so far (at
 * most {@link #MAX_BATCH} images a pass). A smaller batch is padded with zero images: eval-mode
 * BatchNorm treats images independently, so the padding changes nothing but the work, and only the
 * last, partial batch of a dataset pays for it. A larger one is encoded {@link #MAX_BATCH} at a time.
 */
final class CpuEncoder implements Encoder {
    /** Images per pass: the training batch, which bounds the activations' memory like a step's. */
    static final int MAX_BATCH = 256;

    private final ResNetConfig config;
    private final Map<String, StoredTensor> state;
    private final String prefix, where;
    private final WorkerPool pool;
    private CpuResNet net;
    private int[] image = new int[0];
    private double[] padded = new double[0];

    CpuEncoder(ResNetConfig config, Map<String, StoredTensor> state, String prefix, String where, int threads) {
        this.config = config;
        this.state = state;
        this.prefix = prefix;
        this.where = where;
        this.pool = WorkerPool.shared(threads);
        // load once now, on a one-image model, so that a missing or misshapen tensor fails here
        build(1, new int[] {config.inChannels(), 32, 32});
    }

    private void build(int batch, int[] chw) {
        CpuResNet n = new CpuResNet(config, batch, chw, 1, false, Kernels.INSTANCE, pool, new Workspace());
        n.loadStateDict(state::get, prefix, where);
        net = n;
        image = chw.clone();
    }

    @Override
    public synchronized Encoded encode(Tensor images) {
        if (images.rank() != 4 || images.size(1) != config.inChannels()) {
            throw new MocoRefException("the encoder takes images [n, " + config.inChannels() + ", H, W], got "
                    + Arrays.toString(images.shape));
        }
        int n = images.size(0), per = images.size(1) * images.size(2) * images.size(3);
        int[] chw = {images.size(1), images.size(2), images.size(3)};
        int featureDim = config.featureChannels(), dim = config.dim();
        float[] features = new float[n * featureDim], embeddings = new float[n * dim];
        int want = Math.min(MAX_BATCH, Math.max(n, 1));
        if (!Arrays.equals(chw, image) || net.batch < want) build(want, chw);
        int batch = net.batch;
        for (int first = 0; first < n; first += batch) {
            int count = Math.min(batch, n - first);
            double[] in = images.data;
            int from = first * per;
            if (count < batch || from != 0) { // a slice (zero-padded when partial): the model reads whole batches
                if (padded.length != batch * per) padded = new double[batch * per];
                System.arraycopy(images.data, from, padded, 0, count * per);
                Arrays.fill(padded, count * per, batch * per, 0.0);
                in = padded;
            }
            float[] out = net.forward(in, null, CpuResNet.EVAL);
            System.arraycopy(net.features(), 0, features, first * featureDim, count * featureDim);
            System.arraycopy(out, 0, embeddings, first * dim, count * dim);
        }
        return new Encoded(features, embeddings, n, featureDim, dim);
    }
}
