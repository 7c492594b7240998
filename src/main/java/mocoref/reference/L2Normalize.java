package mocoref.reference;

import mocoref.tensor.Tensor;

/**
 * Row-wise L2 normalization, PyTorch's {@code F.normalize(x, dim=1, eps=1e-12)}:
 * {@code y = x / max(||x||, eps)}. MoCo normalizes queries and keys so that their dot products are
 * cosine similarities in [-1, 1] before the temperature scales them.
 */
public final class L2Normalize {
    public static final double EPS = 1e-12;

    private Tensor input;
    private double[] norms;

    /** x [N, D] -> y [N, D]. */
    public Tensor forward(Tensor x) {
        input = x;
        int n = x.size(0), d = x.size(1);
        norms = new double[n];
        Tensor y = new Tensor(n, d);
        for (int r = 0; r < n; r++) {
            double sq = 0.0;
            for (int i = 0; i < d; i++) sq += x.data[r * d + i] * x.data[r * d + i];
            norms[r] = Math.sqrt(sq);
            double denom = Math.max(norms[r], EPS);
            for (int i = 0; i < d; i++) y.data[r * d + i] = x.data[r * d + i] / denom;
        }
        return y;
    }

    /**
     * dy [N, D] -> dx [N, D]. Where the norm exceeds eps: {@code dx = dy/n - x (x.dy)/n^3}; where it
     * was clamped to eps the denominator is a constant: {@code dx = dy/eps}.
     */
    public Tensor backward(Tensor dy) {
        int n = input.size(0), d = input.size(1);
        Tensor dx = new Tensor(n, d);
        for (int r = 0; r < n; r++) {
            double norm = norms[r];
            if (norm > EPS) {
                double dot = 0.0;
                for (int i = 0; i < d; i++) dot += input.data[r * d + i] * dy.data[r * d + i];
                double n3 = norm * norm * norm;
                for (int i = 0; i < d; i++) {
                    dx.data[r * d + i] = dy.data[r * d + i] / norm - input.data[r * d + i] * dot / n3;
                }
            } else {
                for (int i = 0; i < d; i++) dx.data[r * d + i] = dy.data[r * d + i] / EPS;
            }
        }
        return dx;
    }
}
