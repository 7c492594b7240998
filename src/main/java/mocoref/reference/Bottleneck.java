package mocoref.reference;

import java.util.Map;
import mocoref.tensor.Tensor;

/**
 * ResNet-50's block, torchvision's "v1.5": 1x1 conv, BN, ReLU, 3x3 conv carrying the stride, BN,
 * ReLU, 1x1 conv to 4x the planes, BN, + shortcut, ReLU.
 */
final class Bottleneck implements ResidualBlock {
    static final int EXPANSION = 4;
    final Conv2d conv1;
    final BatchNorm2d bn1;
    final Relu relu1 = new Relu();
    final Conv2d conv2;
    final BatchNorm2d bn2;
    final Relu relu2 = new Relu();
    final Conv2d conv3;
    final BatchNorm2d bn3;
    final Downsample downsample;
    final ResidualAdd add = new ResidualAdd();
    final Relu relu3 = new Relu();

    Bottleneck(int inPlanes, int planes, int stride) {
        conv1 = new Conv2d(inPlanes, planes, 1, 1, 0);
        bn1 = new BatchNorm2d(planes);
        conv2 = new Conv2d(planes, planes, 3, stride, 1);
        bn2 = new BatchNorm2d(planes);
        conv3 = new Conv2d(planes, planes * EXPANSION, 1, 1, 0);
        bn3 = new BatchNorm2d(planes * EXPANSION);
        downsample = (stride != 1 || inPlanes != planes * EXPANSION)
                ? new Downsample(inPlanes, planes * EXPANSION, stride) : null;
    }

    @Override
    public Tensor forward(Tensor x, int groups) {
        Tensor out = relu1.forward(ResidualBlock.bn(bn1, conv1.forward(x), groups));
        out = relu2.forward(ResidualBlock.bn(bn2, conv2.forward(out), groups));
        out = ResidualBlock.bn(bn3, conv3.forward(out), groups);
        Tensor identity = downsample == null ? x : downsample.forward(x, groups);
        return relu3.forward(add.forward(out, identity));
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor dSum = relu3.backward(dy);
        Tensor d = bn3.backward(add.backward(dSum));
        d = bn2.backward(relu2.backward(conv3.backward(d)));
        Tensor dx = conv1.backward(bn1.backward(relu1.backward(conv2.backward(d))));
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
        modules.put(prefix + "conv3", conv3);
        modules.put(prefix + "bn3", bn3);
        if (downsample != null) downsample.register(prefix, modules);
    }
}
