package mocoref.cpu;

import java.util.Map;

/**
 * A ResNet block on {@link Plane} activations ({@link CpuBasicBlock}, {@link CpuBottleneck}). A
 * trainable block owns the activations its backward reads; its gradients, and every activation of a
 * forward-only block, are {@link Workspace} buffers shared with the other blocks, all allocated once.
 */
interface CpuBlock {
    /** x [inChannels, input plane] -> the block's output [outChannels, output plane], valid until the next block's forward. */
    float[] forward(float[] x, int groups);

    /** dOut -> dIn, valid until the previous block's backward; adds into the parameter gradients. */
    float[] backward(float[] dOut);

    int outChannels();

    Plane outPlane();

    /** Adds this block's layers to {@code modules} under torchvision's names, with {@code prefix} ("layer2.0."). */
    void register(String prefix, Map<String, Object> modules);

    /** BatchNorm in training mode over {@code groups} devices, or in eval mode for {@link CpuResNet#EVAL}. */
    static void bn(CpuBatchNorm2d bn, float[] x, float[] res, boolean relu, float[] y, int groups) {
        if (groups == CpuResNet.EVAL) bn.forwardEval(x, res, relu, y);
        else bn.forward(x, res, relu, y, groups);
    }

    /** a += b over whole activations (their padding holds zeros in both). */
    static void addInto(float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) a[i] += b[i];
    }
}
