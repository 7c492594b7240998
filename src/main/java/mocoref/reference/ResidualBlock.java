package mocoref.reference;

import java.util.Map;
import mocoref.tensor.Tensor;

/**
 * A ResNet block: torchvision's BasicBlock or Bottleneck. {@code groups} is the number of logical
 * devices BatchNorm normalizes separately in training, or {@link ResNet#EVAL} for eval mode.
 */
interface ResidualBlock {
    Tensor forward(Tensor x, int groups);

    Tensor backward(Tensor dy);

    /** Adds this block's layers to {@code modules} under torchvision's names, with {@code prefix} ("layer2.0."). */
    void register(String prefix, Map<String, Object> modules);

    /** Runs a BatchNorm in training mode over {@code groups} devices, or in eval mode. */
    static Tensor bn(BatchNorm2d bn, Tensor x, int groups) {
        return groups == ResNet.EVAL ? bn.forwardEval(x) : bn.forward(x, groups);
    }
}
