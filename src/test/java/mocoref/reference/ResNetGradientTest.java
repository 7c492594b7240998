package mocoref.reference;

import static mocoref.reference.GradCheck.dot;
import static mocoref.reference.GradCheck.randn;
import static mocoref.reference.GradCheck.relativeError;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import mocoref.testing.ErrorLog;

/**
 * A whole (tiny) ResNet's backward against finite differences, every parameter and the input, in
 * training mode over logical devices: proves the blocks chain their layers' backwards correctly.
 * Same 1e-6 tolerance as the layers.
 */
class ResNetGradientTest {
    @ParameterizedTest(name = "{0} {1} stem, mlp={2}, groups={3}")
    @CsvSource({
        "basic, cifar, false, 2",
        "basic, imagenet, true, 1",
        "bottleneck, cifar, true, 2",
        "bottleneck, imagenet, false, 1",
    })
    void wholeEncoder(String block, String stem, boolean mlp, int groups) {
        Random rng = new Random(31 + block.length() + stem.length());
        ResNetConfig cfg = new ResNetConfig(ResNetConfig.Block.parse(block), new int[] {1, 1, 1, 1}, 2, 2,
                ResNetConfig.Stem.parse(stem), 3, mlp);
        ResNet net = new ResNet(cfg);
        net.initialize(7);
        for (BatchNorm2d bn : net.batchNorms().values()) {
            GradCheck.fill(rng, bn.weight.value, 0.5, 1.5);
            GradCheck.fill(rng, bn.bias.value, -0.3, 0.3);
        }
        int size = stem.equals("imagenet") ? 29 : 12; // layer4 still sees >= 8 values per channel and device
        Tensor x = randn(rng, 4, 2, size, size);
        Tensor dy = randn(rng, 4, 3);
        net.zeroGrad();
        net.forward(x, groups);
        Tensor dx = net.backward(dy);
        double worst = relativeError(() -> dot(dy, net.forward(x, groups)), x.data, dx.data);
        ErrorLog.record("gradcheck", "resnet " + block + " dx", worst);
        for (Map.Entry<String, Param> e : net.parameters().entrySet()) {
            Param p = e.getValue();
            double err = relativeError(() -> dot(dy, net.forward(x, groups)), p.value.data, p.grad.data);
            ErrorLog.record("gradcheck", "resnet " + block + " " + e.getKey(), err);
            assertTrue(err <= LayerGradientTest.TOL, e.getKey() + ": relative error " + err);
            worst = Math.max(worst, err);
        }
        assertTrue(worst <= LayerGradientTest.TOL, "dx or a parameter: relative error " + worst);
    }
}
