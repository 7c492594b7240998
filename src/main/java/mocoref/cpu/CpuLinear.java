package mocoref.cpu;

/** Fully connected layer {@code y = x W^T + b} (PyTorch's nn.Linear) on row-major [N][features] arrays. */
final class CpuLinear {
    final int inFeatures, outFeatures;
    private final Params params;
    final int weightOffset, biasOffset; // W [out][in], b [out]
    private final Gemm gemm;

    CpuLinear(String name, Params params, int in, int out, Gemm gemm) {
        this.inFeatures = in;
        this.outFeatures = out;
        this.params = params;
        this.gemm = gemm;
        weightOffset = params.add(name + ".weight", out, in);
        biasOffset = params.add(name + ".bias", out);
    }

    /** x [n][in] -> y [n][out]. */
    void forward(float[] x, float[] y, int n) {
        float[] w = params.value;
        gemm.multiply(n, outFeatures, inFeatures, 1f, x, 0, inFeatures, 1, w, weightOffset, 1, inFeatures, y, 0, outFeatures, false);
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < outFeatures; o++) y[r * outFeatures + o] += w[biasOffset + o];
        }
    }

    /** dy [n][out] -> dx [n][in] (when not null); adds into the weight and bias gradients. x is the forward's input. */
    void backward(float[] dy, float[] x, float[] dx, int n) {
        float[] w = params.value, g = params.grad;
        // dW[o][i] += sum_r dy[r][o] x[r][i]
        gemm.multiply(outFeatures, inFeatures, n, 1f, dy, 0, 1, outFeatures, x, 0, inFeatures, 1, g, weightOffset, inFeatures, true);
        for (int o = 0; o < outFeatures; o++) {
            double s = 0;
            for (int r = 0; r < n; r++) s += dy[r * outFeatures + o];
            g[biasOffset + o] += (float) s;
        }
        if (dx != null) gemm.multiply(n, inFeatures, outFeatures, 1f, dy, 0, outFeatures, 1, w, weightOffset, inFeatures, 1, dx, 0, inFeatures, false);
    }
}
