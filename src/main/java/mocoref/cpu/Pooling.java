package mocoref.cpu;

import mocoref.parallel.WorkerPool;

import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;

/**
 * The two poolings of a ResNet on {@link Plane} activations: the global average pool before the
 * head, and the ImageNet stem's max pool.
 */
final class Pooling {
    private Pooling() {}

    /** Global average pool: x [C, plane] -> y [N][C]; the gradient spreads dy / (H*W) over each image. */
    static final class GlobalAvg implements Device.GlobalAvgPool {
        final int channels;
        final Plane plane;
        private final Kernels kernels;
        private final WorkerPool pool;
        private float[] x, y, dy, dx;
        private final WorkerPool.Task forwardTask = this::forwardChannel;
        private final WorkerPool.Task backwardTask = this::backwardChannel;

        GlobalAvg(int channels, Plane plane, Kernels kernels, WorkerPool pool) {
            this.channels = channels;
            this.plane = plane;
            this.kernels = kernels;
            this.pool = pool;
        }

        @Override
        public void forward(Activation x, Buffer y) {
            forward(CpuDevice.data(x), CpuDevice.data(y));
        }

        @Override
        public void backward(Buffer dy, Activation dx) {
            backward(CpuDevice.data(dy), CpuDevice.overwritten(dx));
        }

        void forward(float[] x, float[] y) {
            this.x = x;
            this.y = y;
            pool.forEach(channels, forwardTask);
        }

        private void forwardChannel(int c, int worker) {
            int hw = plane.h() * plane.w();
            for (int b = 0; b < plane.n(); b++) {
                y[b * channels + c] = (float) (kernels.sum(x, plane.at(c, b, 0, 0), plane.imageStride()) / hw);
            }
        }

        /** dy [N][C] -> dx [C, plane]. */
        void backward(float[] dy, float[] dx) {
            this.dy = dy;
            this.dx = dx;
            pool.forEach(channels, backwardTask);
        }

        private void backwardChannel(int c, int worker) {
            int hw = plane.h() * plane.w(), row = c * plane.rowLength();
            java.util.Arrays.fill(dx, row, row + plane.rowLength(), 0f);
            for (int b = 0; b < plane.n(); b++) {
                float g = dy[b * channels + c] / hw;
                for (int i = 0; i < plane.h(); i++) java.util.Arrays.fill(dx, plane.at(c, b, i, 0), plane.at(c, b, i, plane.w()), g);
            }
        }
    }

    /**
     * Max pooling (the ImageNet stem's 3x3, stride 2, padding 1). Padding stands for minus infinity;
     * among equal maxima the first in row-major window order wins, as in PyTorch, so the gradient
     * reaches the same input.
     */
    static final class Max implements Device.MaxPool2d {
        final int channels, kernel, stride, padding;
        final Plane src, dst;
        private final int[] argmax; // per output position: the flat input index that won
        private final WorkerPool pool;
        private float[] x, y, dy, dx;
        private final WorkerPool.Task forwardTask = this::forwardChannel;
        private final WorkerPool.Task backwardTask = this::backwardChannel;

        /** dst: the output's layout, (src.h() + 2 padding - kernel) / stride + 1 rows and columns. */
        Max(int channels, int kernel, int stride, int padding, Plane src, Plane dst, WorkerPool pool) {
            this.channels = channels;
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
            this.src = src;
            this.dst = dst;
            this.pool = pool;
            argmax = new int[dst.size(channels)];
        }

        @Override
        public int outH() {
            return dst.h();
        }

        @Override
        public int outW() {
            return dst.w();
        }

        @Override
        public void forward(Activation x, Activation y) {
            forward(CpuDevice.data(x), CpuDevice.overwritten(y, x));
        }

        @Override
        public void backward(Activation dy, Activation dx) {
            backward(CpuDevice.data(dy), CpuDevice.overwritten(dx, dy));
        }

        void forward(float[] x, float[] y) {
            this.x = x;
            this.y = y;
            pool.forEach(channels, forwardTask);
        }

        private void forwardChannel(int c, int worker) {
            java.util.Arrays.fill(y, c * dst.rowLength(), (c + 1) * dst.rowLength(), 0f); // the padding: y may hold another's values
            for (int b = 0; b < dst.n(); b++) {
                for (int i = 0; i < dst.h(); i++) {
                    for (int j = 0; j < dst.w(); j++) {
                        float best = Float.NEGATIVE_INFINITY;
                        int bestAt = -1;
                        for (int u = 0; u < kernel; u++) {
                            int h = i * stride + u - padding;
                            if (h < 0 || h >= src.h()) continue;
                            for (int v = 0; v < kernel; v++) {
                                int w = j * stride + v - padding;
                                if (w < 0 || w >= src.w()) continue;
                                int at = src.at(c, b, h, w);
                                if (x[at] > best || Float.isNaN(x[at]) || bestAt < 0) {
                                    best = x[at];
                                    bestAt = at;
                                }
                            }
                        }
                        int out = dst.at(c, b, i, j);
                        y[out] = best;
                        argmax[out] = bestAt;
                    }
                }
            }
        }

        /** dy [C, dst] -> dx [C, src]: each output's gradient goes to the input that won it. */
        void backward(float[] dy, float[] dx) {
            this.dy = dy;
            this.dx = dx;
            pool.forEach(channels, backwardTask);
        }

        private void backwardChannel(int c, int worker) {
            java.util.Arrays.fill(dx, c * src.rowLength(), (c + 1) * src.rowLength(), 0f);
            for (int b = 0; b < dst.n(); b++) {
                for (int i = 0; i < dst.h(); i++) {
                    for (int j = 0; j < dst.w(); j++) {
                        int out = dst.at(c, b, i, j);
                        dx[argmax[out]] += dy[out];
                    }
                }
            }
        }
    }
}
