package mocoref.float32;

import java.util.ArrayList;
import java.util.List;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.model.ResNetLayout;

/**
 * The encoder in float32 on a {@link Device}, for a fixed batch and image size: torchvision's ResNet
 * as {@link ResNetLayout} describes it (stem, residual blocks, global average pool, head), layer
 * for layer what the float64 {@code reference.ResNet} computes, over {@link EncoderWeights} that
 * other networks may share. {@code groups} is the number of logical devices BatchNorm normalizes
 * separately in training, or {@link #EVAL}.
 *
 * <p>Every activation is allocated here, once: a trainable network keeps what its backward reads,
 * everything else comes from the {@link ActivationPool} shared with the other networks of the
 * device (see there).
 */
final class Float32ResNet {
    static final int EVAL = 0;

    final ResNetLayout layout;
    final int batch;
    final EncoderWeights weights;
    private final Device device;
    private final boolean trainable;
    private final Device.Conv2d conv1;
    private final Device.BatchNorm2d bn1;
    private final Device.MaxPool2d maxpool; // imagenet stem only
    private final List<ResidualBlock> blocks = new ArrayList<>();
    private final Device.GlobalAvgPool avgpool;
    private final Device.Linear fc, fc2; // fc (or fc.0 of the MLP head), fc.2 (MLP only)

    private final Activation input, stemConv, stemOut, pooled;
    private final Buffer features, hidden, hiddenRelu, output;
    private final Activation dLast, dStem, dPooled, dStemConv;
    private final Buffer dFeatures, dHidden;
    /** --detect-anomaly's checks, or null. */
    private Anomalies anomalies;

    /**
     * The network on {@code weights} for {@code batch} images [C, H, W] = {@code image}; trainable
     * when the weights have gradients and {@code train} is set.
     */
    Float32ResNet(Device device, EncoderWeights weights, int batch, int[] image, int maxGroups, boolean train,
                  ActivationPool pool) {
        this.device = device;
        this.weights = weights;
        this.layout = weights.layout;
        this.batch = batch;
        this.trainable = train && weights.trainable();
        ResNetLayout.Conv c1 = layout.conv1();
        int w = c1.out(), n = batch;
        Device.ConvShape stem = new Device.ConvShape(c1.in(), w, c1.kernel(), c1.stride(), c1.padding(), n, image[1], image[2]);
        conv1 = device.conv2d(stem, weights.param(c1.name() + ".weight"));
        int sh = stem.outH(), sw = stem.outW();
        bn1 = weights.batchNorm(layout.bn1(), n, sh, sw, maxGroups);
        maxpool = layout.maxPool() ? device.maxPool2d(w, n, sh, sw, 3, 2, 1) : null;
        int ph = maxpool == null ? sh : maxpool.outH(), pw = maxpool == null ? sw : maxpool.outW();
        int h = ph, wd = pw;
        for (ResNetLayout.Block b : layout.blocks()) {
            ResidualBlock block = new ResidualBlock(device, weights, b, n, h, wd, maxGroups, trainable, pool);
            blocks.add(block);
            h = block.outH;
            wd = block.outW;
        }
        int c = layout.config().featureChannels();
        avgpool = device.globalAvgPool(c, n, h, wd);
        ResNetLayout.Linear l1 = layout.head().get(0);
        fc = device.linear(l1.in(), l1.out(), n, weights.param(l1.name() + ".weight"), weights.param(l1.name() + ".bias"));
        ResNetLayout.Linear l2 = layout.head().size() > 1 ? layout.head().get(1) : null;
        fc2 = l2 == null ? null : device.linear(l2.in(), l2.out(), n, weights.param(l2.name() + ".weight"),
                weights.param(l2.name() + ".bias"));
        int t = ActivationPool.TRANSIENT;
        input = device.activation(n, c1.in(), image[1], image[2]);
        stemConv = trainable ? device.activation(n, w, sh, sw) : pool.get(n, w, sh, sw, t);
        stemOut = trainable ? device.activation(n, w, sh, sw)
                : pool.get(n, w, sh, sw, maxpool != null ? t + 1 : ActivationPool.HANDOFF);
        pooled = maxpool == null ? null : trainable ? device.activation(n, w, ph, pw) : pool.get(n, w, ph, pw, ActivationPool.HANDOFF);
        features = device.rows(n, c);
        hidden = fc2 != null ? device.rows(n, l1.out()) : null;
        hiddenRelu = fc2 != null ? device.rows(n, l1.out()) : null;
        output = device.rows(n, layout.config().dim());
        dFeatures = trainable ? device.rows(n, c) : null;
        dHidden = trainable && fc2 != null ? device.rows(n, l1.out()) : null;
        dLast = trainable ? pool.get(n, c, h, wd, ActivationPool.HANDOFF) : null;
        dStem = trainable ? pool.get(n, w, sh, sw, t) : null;
        dPooled = trainable && maxpool != null ? pool.get(n, w, sh, sw, t + 2) : null;
        dStemConv = trainable ? pool.get(n, w, sh, sw, t + 1) : null;
    }

    /** Checks every layer's output and gradient from now on (--detect-anomaly). */
    void detectAnomalies(Anomalies a) {
        anomalies = a;
        for (ResidualBlock b : blocks) b.anomalies = a;
    }

    private void check(String what, Activation a) {
        if (anomalies != null) anomalies.activation(what, a);
    }

    private void check(String what, Buffer b, long n) {
        if (anomalies != null) anomalies.buffer(what, b, n);
    }

    /** Where the next forward reads its images [N, C, H, W] from (write or shuffle them in). */
    Activation input() {
        return input;
    }

    /** {@link #input()} -> the head's output [N, dim] (valid until the next forward); training mode over {@code groups} devices, or {@link #EVAL}. */
    Buffer forward(int groups) {
        check("the input images", input);
        conv1.forward(input, stemConv);
        check("conv1", stemConv);
        ResidualBlock.bn(bn1, stemConv, null, true, stemOut, groups);
        check("bn1 + relu", stemOut);
        Activation h = stemOut;
        if (maxpool != null) {
            maxpool.forward(stemOut, pooled);
            h = pooled;
        }
        for (ResidualBlock b : blocks) h = b.forward(h, groups);
        avgpool.forward(h, features);
        int dim = layout.config().dim();
        check("avgpool", features, (long) batch * layout.config().featureChannels());
        if (fc2 == null) {
            fc.forward(features, output, batch);
        } else {
            fc.forward(features, hidden, batch);
            check(layout.head().get(0).name(), hidden, (long) batch * layout.head().get(0).out());
            device.relu(hidden, hiddenRelu, batch * layout.head().get(0).out());
            fc2.forward(hiddenRelu, output, batch);
        }
        check(layout.head().get(layout.head().size() - 1).name(), output, (long) batch * dim);
        if (groups != EVAL) weights.countBatch();
        return output;
    }

    /** Global-pooled features [N, 8*width*expansion] of the last forward. */
    Buffer features() {
        return features;
    }

    /** dOut [N, dim] -> adds into every parameter's gradient (the image gradient is not needed). */
    void backward(Buffer dOut) {
        if (!trainable) throw new IllegalStateException("this encoder was built without gradients");
        check("the gradient at the head's output", dOut, (long) batch * layout.config().dim());
        if (fc2 == null) {
            fc.backward(dOut, features, dFeatures, batch);
        } else {
            fc2.backward(dOut, hiddenRelu, dHidden, batch);
            device.reluBackward(dHidden, hiddenRelu, dHidden, batch * layout.head().get(0).out());
            fc.backward(dHidden, features, dFeatures, batch);
        }
        check("the gradient at the features", dFeatures, (long) batch * layout.config().featureChannels());
        avgpool.backward(dFeatures, dLast);
        Activation d = dLast;
        for (int i = blocks.size() - 1; i >= 0; i--) d = blocks.get(i).backward(d);
        if (maxpool != null) {
            maxpool.backward(d, dPooled);
            d = dPooled;
        }
        bn1.backward(d, stemOut, stemConv, dStem, dStemConv);
        check("gradient at conv1's output", dStemConv);
        conv1.backwardWeight(dStemConv, input);
        if (anomalies != null) { // every parameter's gradient, by name
            for (EncoderWeights.Entry e : weights.entries()) anomalies.buffer("the gradient of " + e.name(), weights.grad, e.offset(), e.size());
        }
    }
}
