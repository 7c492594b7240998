package mocoref.reference;

import mocoref.tensor.Tensor;

/**
 * 2-D convolution without bias (every convolution of a ResNet is followed by BatchNorm, which has
 * its own shift), in NCHW layout, with a square kernel, a stride and zero padding.
 *
 * <p>{@code y[n,o,i,j] = sum_{c,u,v} w[o,c,u,v] * x[n, c, i*stride + u - pad, j*stride + v - pad]},
 * positions outside the image counting as zero. The loops run in one fixed order so that the
 * result is the same number on every run and every machine.
 */
public final class Conv2d {
    public final int inChannels;
    public final int outChannels;
    public final int kernel;
    public final int stride;
    public final int padding;
    /** [outChannels, inChannels, kernel, kernel] */
    public final Param weight;

    private Tensor input; // saved by forward for backward

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding) {
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.weight = new Param(outChannels, inChannels, kernel, kernel);
    }

    public int outSize(int in) {
        return (in + 2 * padding - kernel) / stride + 1;
    }

    /** x [N, inChannels, H, W] -> y [N, outChannels, OH, OW]. */
    public Tensor forward(Tensor x) {
        input = x;
        int n = x.size(0), h = x.size(2), w = x.size(3);
        checkChannels(x);
        int oh = outSize(h), ow = outSize(w);
        Tensor y = new Tensor(n, outChannels, oh, ow);
        double[] xd = x.data, wd = weight.value.data, yd = y.data;
        int k = kernel;
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < outChannels; o++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double sum = 0.0;
                        for (int c = 0; c < inChannels; c++) {
                            for (int u = 0; u < k; u++) {
                                int r = i * stride + u - padding;
                                if (r < 0 || r >= h) continue;
                                for (int v = 0; v < k; v++) {
                                    int s = j * stride + v - padding;
                                    if (s < 0 || s >= w) continue;
                                    sum += wd[((o * inChannels + c) * k + u) * k + v] * xd[((b * inChannels + c) * h + r) * w + s];
                                }
                            }
                        }
                        yd[((b * outChannels + o) * oh + i) * ow + j] = sum;
                    }
                }
            }
        }
        return y;
    }

    /** dy [N, outChannels, OH, OW] -> dx [N, inChannels, H, W]; adds dL/dw into {@code weight.grad}. */
    public Tensor backward(Tensor dy) {
        Tensor x = input;
        int n = x.size(0), h = x.size(2), w = x.size(3);
        int oh = dy.size(2), ow = dy.size(3);
        Tensor dx = new Tensor(x.shape);
        double[] xd = x.data, wd = weight.value.data, dyd = dy.data, dxd = dx.data, dwd = weight.grad.data;
        int k = kernel;
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < outChannels; o++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double g = dyd[((b * outChannels + o) * oh + i) * ow + j];
                        for (int c = 0; c < inChannels; c++) {
                            for (int u = 0; u < k; u++) {
                                int r = i * stride + u - padding;
                                if (r < 0 || r >= h) continue;
                                for (int v = 0; v < k; v++) {
                                    int s = j * stride + v - padding;
                                    if (s < 0 || s >= w) continue;
                                    int wi = ((o * inChannels + c) * k + u) * k + v;
                                    int xi = ((b * inChannels + c) * h + r) * w + s;
                                    dwd[wi] += g * xd[xi];
                                    dxd[xi] += g * wd[wi];
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx;
    }

    private void checkChannels(Tensor x) {
        if (x.rank() != 4 || x.size(1) != inChannels) {
            throw new IllegalArgumentException("Conv2d expects [N, " + inChannels + ", H, W], got " + x);
        }
    }
}
