package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import org.junit.jupiter.api.Test;

/**
 * Bit-exact resume needs a step's float32 results to be the same every run for a given thread
 * count: the weight gradient's partial sums must follow a fixed split of the positions, not which
 * thread happened to claim which chunk.
 */
class CpuDeterminismTest {
    @Test
    void weightGradientIsReproducible() {
        CpuDevice d = new CpuDevice(2);
        Random rng = new Random(5);
        // in, out, kernel, stride, padding, n, h, w: direct on the tile, strided on the tile, the dot-product fallback
        int[][] cases = {{16, 24, 3, 1, 1, 16, 14, 14}, {32, 64, 3, 2, 1, 16, 14, 14}, {32, 64, 1, 2, 0, 16, 14, 14},
                {3, 16, 3, 1, 1, 16, 14, 14}};
        for (int[] s : cases) {
            Device.ConvShape shape = new Device.ConvShape(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            int wn = s[0] * s[1] * s[2] * s[2];
            float[] w = new float[wn];
            for (int i = 0; i < wn; i++) w[i] = (float) rng.nextGaussian();
            Buffer weights = d.buffer(wn), grad = d.buffer(wn);
            d.write(w, 0, weights, 0, wn);
            Device.Conv2d conv = d.conv2d(shape, new ParamRef(weights, grad, 0, wn));
            float[] xv = new float[s[5] * s[0] * s[6] * s[7]];
            for (int i = 0; i < xv.length; i++) xv[i] = (float) rng.nextGaussian();
            Activation x = d.activation(s[5], s[0], s[6], s[7]), y = d.activation(s[5], s[1], shape.outH(), shape.outW());
            d.writeImages(xv, 0, x);
            conv.forward(x, y); // y serves as dY
            float[] first = null;
            for (int run = 0; run < 5; run++) {
                d.fill(grad, 0, wn, 0f);
                conv.backwardWeight(y, x);
                float[] g = new float[wn];
                d.read(grad, 0, g, 0, wn);
                if (first == null) first = g;
                else assertArrayEquals(first, g, "weight gradient differs between runs " + java.util.Arrays.toString(s));
            }
        }
    }
}
