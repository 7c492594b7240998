package mocoref.float32;

import mocoref.device.Activation;
import mocoref.device.Device;
import mocoref.model.ResNetLayout;

/**
 * A ResNet block ({@link ResNetLayout.Block}) on a device: the chain {@code conv[s] -> bn[s] ->
 * ReLU} with the last stage's BatchNorm fused with the shortcut add and the block's ReLU, as the
 * float64 {@code reference.ResidualBlock} computes it unfused.
 *
 * <p>Activations: a trainable block keeps what its backward reads (each conv's output h[s], each
 * inner stage's ReLU output a[s], the shortcut conv's output, the block's output); its gradients
 * and the shortcut's BatchNorm output come from the {@link ActivationPool}. A forward-only block
 * takes every activation from the pool: h[s] in slot 2s, a[s] in slot 2s+1, the shortcut in slot 0
 * of the output geometry (h[0] is dead by then, or of another shape), its output in the hand-off
 * slot. Gradients: dz (at the block's output, what the shortcut receives) in slot 0, the gradient
 * at each conv's output in slot 1, at each inner ReLU's output in slot 2: each is dead before the
 * next stage's of the same shape is written.
 */
final class ResidualBlock {
    private final Device device;
    private final int stages;
    private final Device.Conv2d[] convs;
    private final Device.BatchNorm2d[] norms;
    private final Device.Conv2d downsampleConv; // null when the shapes already agree
    private final Device.BatchNorm2d downsampleBn;
    private final Activation[] h, a; // conv outputs; inner stages' BN+ReLU outputs
    private final Activation hd, d, out; // shortcut conv and BN outputs, the block's output
    private final Activation dz, dIn;
    private final Activation[] dh, da; // gradients at h[s] and a[s]
    private Activation x;
    final int outChannels, outH, outW;
    private final ResNetLayout.Block spec;
    /** --detect-anomaly's checks, or null. */
    Anomalies anomalies;

    /** The block on activations [n, spec.inChannels(), inH, inW]. */
    ResidualBlock(Device device, EncoderWeights weights, ResNetLayout.Block spec, int n, int inH, int inW, int maxGroups,
                  boolean trainable, ActivationPool pool) {
        this.device = device;
        this.spec = spec;
        stages = spec.convs().size();
        convs = new Device.Conv2d[stages];
        norms = new Device.BatchNorm2d[stages];
        h = new Activation[stages];
        a = new Activation[stages - 1];
        dh = new Activation[stages];
        da = new Activation[stages - 1];
        int ch = inH, cw = inW;
        for (int s = 0; s < stages; s++) {
            ResNetLayout.Conv c = spec.convs().get(s);
            Device.ConvShape shape = new Device.ConvShape(c.in(), c.out(), c.kernel(), c.stride(), c.padding(), n, ch, cw);
            convs[s] = device.conv2d(shape, weights.param(c.name() + ".weight"));
            ch = shape.outH();
            cw = shape.outW();
            norms[s] = weights.batchNorm(spec.norms().get(s), n, ch, cw, maxGroups);
            h[s] = trainable ? device.activation(n, c.out(), ch, cw) : pool.get(n, c.out(), ch, cw, 2 * s);
            if (s < stages - 1) {
                a[s] = trainable ? device.activation(n, c.out(), ch, cw) : pool.get(n, c.out(), ch, cw, 2 * s + 1);
                da[s] = trainable ? pool.get(n, c.out(), ch, cw, 2) : null;
            }
            dh[s] = trainable ? pool.get(n, c.out(), ch, cw, 1) : null;
        }
        outChannels = spec.outChannels();
        outH = ch;
        outW = cw;
        if (spec.hasDownsample()) {
            ResNetLayout.Conv c = spec.downsample();
            downsampleConv = device.conv2d(new Device.ConvShape(c.in(), c.out(), 1, c.stride(), 0, n, inH, inW),
                    weights.param(c.name() + ".weight"));
            downsampleBn = weights.batchNorm(spec.downsampleNorm(), n, outH, outW, maxGroups);
            hd = trainable ? device.activation(n, outChannels, outH, outW) : pool.get(n, outChannels, outH, outW, 0);
            d = pool.get(n, outChannels, outH, outW, 0); // over hd when forward-only: BatchNorm may write its input
        } else {
            downsampleConv = null;
            downsampleBn = null;
            hd = null;
            d = null;
        }
        out = trainable ? device.activation(n, outChannels, outH, outW) : pool.get(n, outChannels, outH, outW, ActivationPool.HANDOFF);
        dz = trainable ? pool.get(n, outChannels, outH, outW, 0) : null;
        dIn = trainable ? pool.get(n, spec.inChannels(), inH, inW, ActivationPool.HANDOFF) : null;
    }

    /** x -> the block's output, valid until the next block's forward; BatchNorm in training mode over {@code groups} devices, or eval mode. */
    Activation forward(Activation x, int groups) {
        this.x = x;
        Activation in = x;
        for (int s = 0; s < stages - 1; s++) {
            convs[s].forward(in, h[s]);
            check(spec.convs().get(s).name(), h[s]);
            bn(norms[s], h[s], null, true, a[s], groups);
            check(spec.norms().get(s).name() + " + relu", a[s]);
            in = a[s];
        }
        convs[stages - 1].forward(in, h[stages - 1]);
        check(spec.convs().get(stages - 1).name(), h[stages - 1]);
        Activation identity = x;
        if (downsampleConv != null) {
            downsampleConv.forward(x, hd);
            check(spec.downsample().name(), hd);
            bn(downsampleBn, hd, null, false, d, groups);
            check(spec.downsampleNorm().name(), d);
            identity = d;
        }
        bn(norms[stages - 1], h[stages - 1], identity, true, out, groups);
        check(spec.norms().get(stages - 1).name() + " + shortcut + relu", out);
        return out;
    }

    /** dOut -> dIn, valid until the previous block's backward; adds into the parameter gradients. */
    Activation backward(Activation dOut) {
        int last = stages - 1;
        norms[last].backward(dOut, out, h[last], dz, dh[last]);
        check("gradient at " + spec.convs().get(last).name() + "'s output", dh[last]);
        for (int s = last; s > 0; s--) {
            convs[s].backwardWeight(dh[s], a[s - 1]);
            convs[s].backwardInput(dh[s], da[s - 1], false);
            check("gradient at " + spec.convs().get(s).name() + "'s input", da[s - 1]);
            norms[s - 1].backward(da[s - 1], a[s - 1], h[s - 1], da[s - 1], dh[s - 1]);
            check("gradient at " + spec.convs().get(s - 1).name() + "'s output", dh[s - 1]);
        }
        convs[0].backwardWeight(dh[0], x);
        convs[0].backwardInput(dh[0], dIn, false);
        if (downsampleConv != null) {
            downsampleBn.backward(dz, null, hd, dz, dh[last]);
            check("gradient at " + spec.downsample().name() + "'s output", dh[last]);
            downsampleConv.backwardWeight(dh[last], x);
            downsampleConv.backwardInput(dh[last], dIn, true);
        } else {
            device.add(dz, dIn);
        }
        check("gradient at " + spec.name() + "'s input", dIn);
        return dIn;
    }

    private void check(String what, Activation act) {
        if (anomalies != null) anomalies.activation(what, act);
    }

    /** BatchNorm in training mode over {@code groups} devices, or in eval mode for {@link Float32ResNet#EVAL}. */
    static void bn(Device.BatchNorm2d bn, Activation x, Activation residual, boolean relu, Activation y, int groups) {
        if (groups == Float32ResNet.EVAL) bn.forwardEval(x, residual, relu, y);
        else bn.forwardTrain(x, residual, relu, y, groups);
    }
}
