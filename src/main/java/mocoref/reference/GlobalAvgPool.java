package mocoref.reference;

import mocoref.tensor.Tensor;

/** Global average pooling: the mean of each channel's H x W plane, then flattened to [N, C]. */
public final class GlobalAvgPool {
    private int[] inputShape;

    /** x [N, C, H, W] -> y [N, C]. */
    public Tensor forward(Tensor x) {
        inputShape = x.shape.clone();
        int n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
        Tensor y = new Tensor(n, c);
        for (int plane = 0; plane < n * c; plane++) {
            double sum = 0.0;
            for (int p = 0; p < hw; p++) sum += x.data[plane * hw + p];
            y.data[plane] = sum / hw;
        }
        return y;
    }

    /** dy [N, C] -> dx [N, C, H, W]: every position of a plane gets dy / (H*W). */
    public Tensor backward(Tensor dy) {
        Tensor dx = new Tensor(inputShape);
        int hw = inputShape[2] * inputShape[3];
        for (int plane = 0; plane < dy.numel(); plane++) {
            double g = dy.data[plane] / hw;
            for (int p = 0; p < hw; p++) dx.data[plane * hw + p] = g;
        }
        return dx;
    }
}
