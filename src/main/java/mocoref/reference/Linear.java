package mocoref.reference;

import mocoref.tensor.Tensor;

/** Fully connected layer, {@code y = x W^T + b}, as PyTorch's nn.Linear. */
public final class Linear {
    public final int inFeatures;
    public final int outFeatures;
    /** [out, in] */
    public final Param weight;
    /** [out] */
    public final Param bias;

    private Tensor input;

    public Linear(int inFeatures, int outFeatures) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = new Param(outFeatures, inFeatures);
        this.bias = new Param(outFeatures);
    }

    /** x [N, in] -> y [N, out]. */
    public Tensor forward(Tensor x) {
        input = x;
        int n = x.size(0);
        Tensor y = new Tensor(n, outFeatures);
        double[] w = weight.value.data, b = bias.value.data;
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < outFeatures; o++) {
                double sum = 0.0;
                for (int i = 0; i < inFeatures; i++) sum += x.data[r * inFeatures + i] * w[o * inFeatures + i];
                y.data[r * outFeatures + o] = sum + b[o];
            }
        }
        return y;
    }

    /** dy [N, out] -> dx [N, in]; adds into the weight and bias gradients. */
    public Tensor backward(Tensor dy) {
        Tensor x = input;
        int n = x.size(0);
        Tensor dx = new Tensor(n, inFeatures);
        double[] w = weight.value.data, dw = weight.grad.data, db = bias.grad.data;
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < outFeatures; o++) {
                double g = dy.data[r * outFeatures + o];
                db[o] += g;
                for (int i = 0; i < inFeatures; i++) {
                    dw[o * inFeatures + i] += g * x.data[r * inFeatures + i];
                    dx.data[r * inFeatures + i] += g * w[o * inFeatures + i];
                }
            }
        }
        return dx;
    }
}
