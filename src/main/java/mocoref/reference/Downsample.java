package mocoref.reference;

import java.util.Map;
import mocoref.tensor.Tensor;

/** The shortcut of a block whose input and output shapes differ: 1x1 conv with the block's stride, then BN. */
final class Downsample {
    final Conv2d conv; // downsample.0
    final BatchNorm2d bn; // downsample.1

    Downsample(int in, int out, int stride) {
        conv = new Conv2d(in, out, 1, stride, 0);
        bn = new BatchNorm2d(out);
    }

    Tensor forward(Tensor x, int groups) {
        return ResidualBlock.bn(bn, conv.forward(x), groups);
    }

    Tensor backward(Tensor dy) {
        return conv.backward(bn.backward(dy));
    }

    void register(String prefix, Map<String, Object> modules) {
        modules.put(prefix + "downsample.0", conv);
        modules.put(prefix + "downsample.1", bn);
    }
}
