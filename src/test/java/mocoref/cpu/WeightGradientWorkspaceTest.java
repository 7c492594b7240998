package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import org.junit.jupiter.api.Test;

/**
 * The weight gradients of one device share their partial sums and packed operands (a
 * {@link WeightGradient.Workspace}): a gradient must come out bit for bit as on a device of its
 * own, whatever ran before it, larger or smaller, and also when it was built after the workspace
 * was first allocated at a smaller size.
 */
class WeightGradientWorkspaceTest {
    // in, out, kernel, stride, padding, n, h, w: tile-path shapes (input channels a multiple of NR)
    private static final int[][] SHAPES = {{32, 7, 3, 1, 1, 2, 6, 6}, {64, 40, 3, 1, 1, 2, 9, 9},
            {64, 24, 3, 2, 1, 3, 8, 8}, {128, 9, 1, 2, 0, 2, 7, 7}, {32, 5, 3, 1, 1, 1, 4, 4}};

    @Test
    void sharedWorkspaceGivesTheGradientOfAFreshDevice() {
        CpuDevice shared = new CpuDevice(2);
        for (int i = 0; i < SHAPES.length; i++) {
            // built after every earlier one has run: the workspace grows for the second and third
            float[] got = gradient(shared, SHAPES[i], i);
            float[] alone = gradient(new CpuDevice(2), SHAPES[i], i);
            assertArrayEquals(alone, got, "shape " + java.util.Arrays.toString(SHAPES[i]) + " after " + i + " others");
            assertTrue(nonZero(got), "a gradient that is all zeros proves nothing");
        }
        // and in reverse order, each after larger ones left their sums behind
        for (int i = SHAPES.length - 1; i >= 0; i--) {
            assertArrayEquals(gradient(new CpuDevice(2), SHAPES[i], i), gradient(shared, SHAPES[i], i));
        }
    }

    private static boolean nonZero(float[] g) {
        for (float v : g) if (v != 0f) return true;
        return false;
    }

    /** dW of one convolution of {@code s} on {@code d}, from inputs drawn with {@code seed}. */
    private static float[] gradient(CpuDevice d, int[] s, long seed) {
        int in = s[0], out = s[1], k = s[2], n = s[5], h = s[6], w = s[7];
        Device.ConvShape shape = new Device.ConvShape(in, out, k, s[3], s[4], n, h, w);
        Random rng = new Random(seed);
        int weights = out * in * k * k;
        Buffer value = d.buffer(weights), grad = d.buffer(weights);
        d.write(gaussian(rng, weights), 0, value, 0, weights);
        Device.Conv2d conv = d.conv2d(shape, new ParamRef(value, grad, 0, weights));
        Activation x = d.activation(n, in, h, w), dy = d.activation(n, out, shape.outH(), shape.outW());
        d.writeImages(gaussian(rng, n * in * h * w), 0, x);
        d.writeImages(gaussian(rng, n * out * shape.outH() * shape.outW()), 0, dy);
        conv.backwardWeight(dy, x);
        float[] g = new float[weights];
        d.read(grad, 0, g, 0, weights);
        return g;
    }

    private static float[] gaussian(Random rng, int count) {
        float[] f = new float[count];
        for (int i = 0; i < count; i++) f[i] = (float) rng.nextGaussian();
        return f;
    }
}
