package mocoref.reference;

import java.util.Map;
import mocoref.tensor.Tensor;

/** ResNet-18/34's block: 3x3 conv (stride s), BN, ReLU, 3x3 conv, BN, + shortcut, ReLU. */
final class BasicBlock implements ResidualBlock {
    final Conv2d conv1;
    final BatchNorm2d bn1;
    final Relu relu1 = new Relu();
    final Conv2d conv2;
    final BatchNorm2d bn2;
    final Downsample downsample; // null when the shapes already agree
    final ResidualAdd add = new ResidualAdd();
    final Relu relu2 = new Relu();

    BasicBlock(int inPlanes, int planes, int stride) {
        conv1 = new Conv2d(inPlanes, planes, 3, stride, 1);
        bn1 = new BatchNorm2d(planes);
        conv2 = new Conv2d(planes, planes, 3, 1, 1);
        bn2 = new BatchNorm2d(planes);
        downsample = (stride != 1 || inPlanes != planes) ? new Downsample(inPlanes, planes, stride) : null;
    }

    @Override
    public Tensor forward(Tensor x, int groups) {
        Tensor out = relu1.forward(ResidualBlock.bn(bn1, conv1.forward(x), groups));
        out = ResidualBlock.bn(bn2, conv2.forward(out), groups);
        Tensor identity = downsample == null ? x : downsample.forward(x, groups);
        return relu2.forward(add.forward(out, identity));
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor dSum = relu2.backward(dy);
        Tensor dx = conv1.backward(bn1.backward(relu1.backward(conv2.backward(bn2.backward(add.backward(dSum))))));
        Tensor dIdentity = downsample == null ? add.backward(dSum) : downsample.backward(add.backward(dSum));
        for (int i = 0; i < dx.numel(); i++) dx.data[i] += dIdentity.data[i];
        return dx;
    }

    @Override
    public void register(String prefix, Map<String, Object> modules) {
        modules.put(prefix + "conv1", conv1);
        modules.put(prefix + "bn1", bn1);
        modules.put(prefix + "conv2", conv2);
        modules.put(prefix + "bn2", bn2);
        if (downsample != null) downsample.register(prefix, modules);
    }
}
