package mocoref.reference;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import mocoref.model.ResNetLayout;
import mocoref.tensor.Tensor;

/**
 * A ResNet block, as {@link ResNetLayout.Block} describes it: a chain of convolution, BatchNorm
 * and ReLU stages, the last without its ReLU; its output is added to the shortcut (the input, or
 * a 1x1 strided convolution and BatchNorm where the shapes differ), then a ReLU. torchvision's
 * BasicBlock is the chain 3x3, 3x3; its Bottleneck is 1x1, 3x3 (carrying the stride), 1x1.
 *
 * <p>{@code groups} is the number of logical devices BatchNorm normalizes separately in training,
 * or {@link ResNet#EVAL} for eval mode.
 */
final class ResidualBlock {
    final List<Conv2d> convs = new ArrayList<>();
    final List<BatchNorm2d> norms = new ArrayList<>();
    final List<Relu> relus = new ArrayList<>(); // after every stage but the last
    final Conv2d downsampleConv; // downsample.0, or null when the shapes already agree
    final BatchNorm2d downsampleBn; // downsample.1
    final ResidualAdd add = new ResidualAdd();
    final Relu relu = new Relu();

    ResidualBlock(ResNetLayout.Block spec, Map<String, Object> modules) {
        for (int s = 0; s < spec.convs().size(); s++) {
            Conv2d conv = ResNet.conv(spec.convs().get(s), modules);
            convs.add(conv);
            norms.add(ResNet.bn(spec.norms().get(s), modules));
            if (s < spec.convs().size() - 1) relus.add(new Relu());
        }
        downsampleConv = spec.hasDownsample() ? ResNet.conv(spec.downsample(), modules) : null;
        downsampleBn = spec.hasDownsample() ? ResNet.bn(spec.downsampleNorm(), modules) : null;
    }

    Tensor forward(Tensor x, int groups) {
        Tensor out = x;
        for (int s = 0; s < convs.size(); s++) {
            out = bn(norms.get(s), convs.get(s).forward(out), groups);
            if (s < relus.size()) out = relus.get(s).forward(out);
        }
        Tensor identity = downsampleConv == null ? x : bn(downsampleBn, downsampleConv.forward(x), groups);
        return relu.forward(add.forward(out, identity));
    }

    Tensor backward(Tensor dy) {
        Tensor dSum = relu.backward(dy);
        Tensor d = add.backward(dSum);
        for (int s = convs.size() - 1; s >= 0; s--) {
            if (s < relus.size()) d = relus.get(s).backward(d);
            d = convs.get(s).backward(norms.get(s).backward(d));
        }
        Tensor dIdentity = add.backward(dSum);
        if (downsampleConv != null) dIdentity = downsampleConv.backward(downsampleBn.backward(dIdentity));
        for (int i = 0; i < d.numel(); i++) d.data[i] += dIdentity.data[i];
        return d;
    }

    /** A BatchNorm in training mode over {@code groups} devices, or in eval mode. */
    static Tensor bn(BatchNorm2d bn, Tensor x, int groups) {
        return groups == ResNet.EVAL ? bn.forwardEval(x) : bn.forward(x, groups);
    }
}
