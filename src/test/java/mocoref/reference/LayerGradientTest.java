package mocoref.reference;

import static mocoref.reference.GradCheck.dot;
import static mocoref.reference.GradCheck.randn;
import static mocoref.reference.GradCheck.randnAwayFromZero;
import static mocoref.reference.GradCheck.relativeError;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import mocoref.testing.ErrorLog;

/**
 * Every layer's backward against central finite differences in float64, for the input and for
 * every parameter. Tolerance: relative error (‖num−ana‖/‖ana‖ over the whole gradient) at most
 * 1e-6, fixed by the issue; central differences with h = 1e-5 are accurate to ~1e-9 on these
 * smooth (or kink-avoiding) functions, so a wrong backward cannot hide under it.
 */
class LayerGradientTest {
    static final double TOL = 1e-6;

    static void assertGrad(String what, double err) {
        ErrorLog.record("gradcheck", what, err);
        assertTrue(err <= TOL, what + ": relative error " + err + " > " + TOL);
    }

    @ParameterizedTest(name = "conv k{2} s{3} p{4}, {0}x{1}x{5}x{6} -> {7}")
    @CsvSource({
        "2, 3, 3, 1, 1, 7, 7, 4",
        "1, 2, 3, 2, 1, 9, 5, 3",
        "3, 1, 1, 1, 0, 4, 4, 5",
        "1, 2, 7, 2, 3, 11, 10, 2",
        "2, 3, 1, 2, 0, 5, 7, 4",
    })
    void conv2d(int n, int cin, int k, int stride, int pad, int h, int w, int cout) {
        Random rng = new Random(11 + k * 7 + stride);
        Conv2d conv = new Conv2d(cin, cout, k, stride, pad);
        Tensor w0 = randn(rng, cout, cin, k, k);
        System.arraycopy(w0.data, 0, conv.weight.value.data, 0, w0.numel());
        Tensor x = randn(rng, n, cin, h, w);
        Tensor dy = randn(rng, conv.forward(x).shape);
        conv.weight.zeroGrad();
        Tensor dx = conv.backward(dy);
        assertGrad("conv dx", relativeError(() -> dot(dy, conv.forward(x)), x.data, dx.data));
        assertGrad("conv dw", relativeError(() -> dot(dy, conv.forward(x)), conv.weight.value.data, conv.weight.grad.data));
    }

    @ParameterizedTest(name = "batchnorm train n={0} c={1} {2}x{3} groups={4}")
    @CsvSource({
        "4, 3, 5, 5, 1",
        "6, 2, 3, 4, 2",
        "6, 3, 2, 3, 3",
        "1, 4, 3, 3, 1",
        "8, 2, 1, 2, 4",
    })
    void batchNormTraining(int n, int c, int h, int w, int groups) {
        Random rng = new Random(100 + n * 10 + groups);
        BatchNorm2d bn = new BatchNorm2d(c);
        GradCheck.fill(rng, bn.weight.value, 0.5, 1.5);
        GradCheck.fill(rng, bn.bias.value, -0.5, 0.5);
        Tensor x = randn(rng, n, c, h, w);
        for (int i = 0; i < x.numel(); i++) x.data[i] = 2 * x.data[i] + 0.3;
        Tensor dy = randn(rng, n, c, h, w);
        bn.forward(x, groups);
        Tensor dx = bn.backward(dy);
        assertGrad("bn dx", relativeError(() -> dot(dy, bn.forward(x, groups)), x.data, dx.data));
        assertGrad("bn dgamma", relativeError(() -> dot(dy, bn.forward(x, groups)), bn.weight.value.data, bn.weight.grad.data));
        assertGrad("bn dbeta", relativeError(() -> dot(dy, bn.forward(x, groups)), bn.bias.value.data, bn.bias.grad.data));
    }

    @Test
    void relu() {
        Random rng = new Random(3);
        Relu relu = new Relu();
        Tensor x = randnAwayFromZero(rng, 1e-3, 3, 2, 5, 3);
        Tensor dy = randn(rng, x.shape);
        relu.forward(x);
        Tensor dx = relu.backward(dy);
        assertGrad("relu dx", relativeError(() -> dot(dy, relu.forward(x)), x.data, dx.data));
    }

    @ParameterizedTest(name = "maxpool n={0} c={1} {2}x{3}")
    @CsvSource({"2, 3, 7, 7", "1, 2, 8, 5", "3, 1, 4, 4", "1, 1, 2, 3"})
    void maxPool(int n, int c, int h, int w) {
        Random rng = new Random(5 + h * w);
        MaxPool2d pool = new MaxPool2d(3, 2, 1);
        // distinct values spaced far beyond h, so no finite difference changes which input wins
        Tensor x = new Tensor(n, c, h, w);
        int[] order = shuffled(rng, x.numel());
        for (int i = 0; i < x.numel(); i++) x.data[i] = 0.01 * order[i];
        Tensor dy = randn(rng, pool.forward(x).shape);
        Tensor dx = pool.backward(dy);
        assertGrad("maxpool dx", relativeError(() -> dot(dy, pool.forward(x)), x.data, dx.data));
    }

    @Test
    void globalAvgPool() {
        Random rng = new Random(7);
        GlobalAvgPool pool = new GlobalAvgPool();
        Tensor x = randn(rng, 3, 4, 5, 3);
        Tensor dy = randn(rng, 3, 4);
        pool.forward(x);
        Tensor dx = pool.backward(dy);
        assertGrad("avgpool dx", relativeError(() -> dot(dy, pool.forward(x)), x.data, dx.data));
    }

    @ParameterizedTest(name = "linear n={0} {1}->{2}")
    @CsvSource({"1, 5, 3", "4, 7, 7", "3, 2, 9"})
    void linear(int n, int in, int out) {
        Random rng = new Random(13 + in);
        Linear lin = new Linear(in, out);
        System.arraycopy(randn(rng, out, in).data, 0, lin.weight.value.data, 0, out * in);
        System.arraycopy(randn(rng, out).data, 0, lin.bias.value.data, 0, out);
        Tensor x = randn(rng, n, in);
        Tensor dy = randn(rng, n, out);
        lin.forward(x);
        Tensor dx = lin.backward(dy);
        assertGrad("linear dx", relativeError(() -> dot(dy, lin.forward(x)), x.data, dx.data));
        assertGrad("linear dw", relativeError(() -> dot(dy, lin.forward(x)), lin.weight.value.data, lin.weight.grad.data));
        assertGrad("linear db", relativeError(() -> dot(dy, lin.forward(x)), lin.bias.value.data, lin.bias.grad.data));
    }

    @ParameterizedTest(name = "normalize n={0} d={1}")
    @CsvSource({"1, 3", "5, 8", "4, 2"})
    void l2Normalize(int n, int d) {
        Random rng = new Random(17 + d);
        L2Normalize norm = new L2Normalize();
        Tensor x = randn(rng, n, d);
        Tensor dy = randn(rng, n, d);
        norm.forward(x);
        Tensor dx = norm.backward(dy);
        assertGrad("normalize dx", relativeError(() -> dot(dy, norm.forward(x)), x.data, dx.data));
    }

    @ParameterizedTest(name = "cross entropy n={0} classes={1}")
    @CsvSource({"1, 2", "4, 9", "6, 33"})
    void crossEntropy(int n, int classes) {
        Random rng = new Random(19 + classes);
        CrossEntropy ce = new CrossEntropy();
        Tensor logits = randn(rng, n, classes);
        for (int i = 0; i < logits.numel(); i++) logits.data[i] *= 3; // peaked softmaxes too
        int[] targets = new int[n];
        for (int i = 0; i < n; i++) targets[i] = rng.nextInt(classes);
        ce.forward(logits, targets);
        Tensor d = ce.backward(1.0);
        assertGrad("cross entropy dlogits", relativeError(() -> ce.forward(logits, targets), logits.data, d.data));
    }

    @Test
    void residualAdd() {
        Random rng = new Random(23);
        ResidualAdd add = new ResidualAdd();
        Tensor a = randn(rng, 2, 3, 3, 1), b = randn(rng, 2, 3, 3, 1), dy = randn(rng, 2, 3, 3, 1);
        Tensor da = add.backward(dy);
        assertGrad("add da", relativeError(() -> dot(dy, add.forward(a, b)), a.data, da.data));
        assertGrad("add db", relativeError(() -> dot(dy, add.forward(a, b)), b.data, add.backward(dy).data));
    }

    private static int[] shuffled(Random rng, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
