package mocoref.opencl;

import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;

/** The poolings on the OpenCL device ({@code pooling.cl}). */
final class ClPooling {
    private ClPooling() {}

    /** Max pooling; the forward keeps each window's winner for the backward's gather. */
    static final class Max implements Device.MaxPool2d {
        private final OpenClDevice device;
        private final OpenClDevice.Kernels k;
        private final int channels, n, h, w, kernel, stride, padding, oh, ow;
        private final OpenClDevice.ClInts argmax;

        Max(OpenClDevice device, int channels, int n, int h, int w, int kernel, int stride, int padding) {
            this.device = device;
            this.k = device.new Kernels();
            this.channels = channels;
            this.n = n;
            this.h = h;
            this.w = w;
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
            oh = (h + 2 * padding - kernel) / stride + 1;
            ow = (w + 2 * padding - kernel) / stride + 1;
            argmax = device.ints(n * channels * oh * ow);
        }

        @Override
        public int outH() {
            return oh;
        }

        @Override
        public int outW() {
            return ow;
        }

        @Override
        public void forward(Activation x, Activation y) {
            int total = n * channels * oh * ow;
            device.launch1(k.get("maxpool_forward"), total, x, y, argmax, h, w, oh, ow, kernel, stride, padding, total);
        }

        @Override
        public void backward(Activation dy, Activation dx) {
            int total = n * channels * h * w;
            device.launch1(k.get("maxpool_backward"), total, dy, argmax, dx, h, w, oh, ow, kernel, stride, padding, total);
        }
    }

    /** The global average pool into [n, channels] rows. */
    static final class GlobalAvg implements Device.GlobalAvgPool {
        private final OpenClDevice device;
        private final OpenClDevice.Kernels k;
        private final int planes, hw;

        GlobalAvg(OpenClDevice device, int channels, int n, int h, int w) {
            this.device = device;
            this.k = device.new Kernels();
            this.planes = n * channels;
            this.hw = h * w;
        }

        @Override
        public void forward(Activation x, Buffer y) {
            device.launch1(k.get("avgpool_forward"), planes, x, OpenClDevice.mem(y), hw, planes);
        }

        @Override
        public void backward(Buffer dy, Activation dx) {
            device.launch1(k.get("avgpool_backward"), planes * hw, OpenClDevice.mem(dy), dx, hw, planes * hw);
        }
    }
}
