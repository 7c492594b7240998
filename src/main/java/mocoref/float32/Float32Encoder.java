package mocoref.float32;

import java.util.Arrays;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.device.Buffer;
import mocoref.device.Device;

/**
 * encoder_q in eval mode (BatchNorm with its running statistics) on a device, for features, kNN
 * and linear probes: a forward-only {@link Float32ResNet} on {@link EncoderWeights} it does not copy
 * (a training model's own, or ones loaded from a file), built for the largest batch seen so far (at
 * most {@link #MAX_BATCH} images a pass). A smaller batch is padded with zero images: eval-mode
 * BatchNorm treats images independently, so the padding changes nothing but the work, and only the
 * last, partial batch of a dataset pays for it. A larger one is encoded {@link #MAX_BATCH} at a time.
 */
final class Float32Encoder implements Encoder {
    /** Images per pass: a training batch, which bounds the activations' memory like a step's. */
    static final int MAX_BATCH = 256;

    private final Device device;
    private final EncoderWeights weights;
    private final ActivationPool pool;
    private Float32ResNet net;
    private int[] image = new int[0];
    private float[] padded = new float[0];

    Float32Encoder(Device device, EncoderWeights weights, ActivationPool pool) {
        this.device = device;
        this.weights = weights;
        this.pool = pool;
    }

    @Override
    public synchronized Encoded encode(ImageBatch images) {
        var config = weights.layout.config();
        if (images.channels() != config.inChannels()) {
            throw new MocoRefException("the encoder takes images [n, " + config.inChannels() + ", H, W], got ["
                    + images.n() + ", " + images.channels() + ", " + images.height() + ", " + images.width() + "]");
        }
        int n = images.n(), per = images.channels() * images.height() * images.width();
        int[] chw = images.imageShape();
        int featureDim = config.featureChannels(), dim = config.dim();
        float[] features = new float[n * featureDim], embeddings = new float[n * dim];
        int want = Math.min(MAX_BATCH, Math.max(n, 1));
        if (net == null || !Arrays.equals(chw, image) || net.batch < want) {
            net = new Float32ResNet(device, weights, want, chw, 1, false, pool);
            image = chw.clone();
        }
        int batch = net.batch;
        float[] all = images.floats();
        for (int first = 0; first < n; first += batch) {
            int count = Math.min(batch, n - first);
            float[] in = all;
            int from = first * per;
            if (count < batch) { // the model reads whole batches: zero-pad the last, partial one
                if (padded.length != batch * per) padded = new float[batch * per];
                System.arraycopy(all, from, padded, 0, count * per);
                Arrays.fill(padded, count * per, batch * per, 0f);
                in = padded;
                from = 0;
            }
            device.writeImages(in, from, net.input());
            Buffer out = net.forward(Float32ResNet.EVAL);
            device.read(net.features(), 0, features, first * featureDim, count * featureDim);
            device.read(out, 0, embeddings, first * dim, count * dim);
        }
        return new Encoded(features, embeddings, n, featureDim, dim);
    }
}
