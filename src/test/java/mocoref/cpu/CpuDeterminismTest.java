package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Bit-exact resume needs a step's float32 results to be the same every run for a given thread
 * count: the weight gradient's partial sums must follow a fixed split of the positions, not which
 * thread happened to claim which chunk.
 */
class CpuDeterminismTest {
    @Test
    void weightGradientIsReproducible() {
        WorkerPool pool = WorkerPool.shared(2);
        Random rng = new Random(5);
        // in, out, kernel, stride, padding, n, h, w: direct on the tile, strided on the tile, the dot-product fallback
        int[][] cases = {{16, 24, 3, 1, 1, 16, 14, 14}, {32, 64, 3, 2, 1, 16, 14, 14}, {32, 64, 1, 2, 0, 16, 14, 14},
                {3, 16, 3, 1, 1, 16, 14, 14}};
        for (int[] s : cases) {
            Params params = new Params();
            Plane src = Plane.of(s[5], s[6], s[7], Kernels.INSTANCE.nr());
            CpuConv2d conv = new CpuConv2d("conv", params, s[0], s[1], s[2], s[3], s[4], src, Kernels.INSTANCE, pool,
                    new Workspace(), true);
            params.allocate(true);
            for (int i = 0; i < params.total(); i++) params.value[i] = (float) rng.nextGaussian();
            float[] x = new float[src.size(s[0])], y = new float[conv.dst.size(s[1])];
            for (int c = 0; c < s[0]; c++) {
                for (int b = 0; b < s[5]; b++) {
                    for (int i = 0; i < s[6]; i++) {
                        for (int j = 0; j < s[7]; j++) x[src.at(c, b, i, j)] = (float) rng.nextGaussian();
                    }
                }
            }
            conv.forward(x, y); // y (padding zero) serves as dY
            float[] first = null;
            for (int run = 0; run < 5; run++) {
                java.util.Arrays.fill(params.grad, 0f);
                conv.backward(y, x, null, false);
                if (first == null) first = params.grad.clone();
                else assertArrayEquals(first, params.grad, "weight gradient differs between runs " + java.util.Arrays.toString(s));
            }
        }
    }
}
