package mocoref.opencl;

import mocoref.device.Activation;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/**
 * A convolution without bias on the OpenCL device: the implicit products of {@code conv.cl}, with
 * the layer's index tables (tap offsets, output origins) made and uploaded once here, and the
 * weight gradient's split along the reduction chosen once for this shape.
 */
final class ClConv2d implements Device.Conv2d {
    private final OpenClDevice device;
    private final OpenClDevice.Kernels k;
    private final Device.ConvShape s;
    private final OpenClDevice.ClBuffer weight, grad;
    private final int wOff, gOff;
    private final int kk, taps, positions, paddedPositions, tiles, tilesPerSplit, splits;
    private final OpenClDevice.ClInts forwardTaps, inputTaps, origins;
    /** The vector path (CPU devices): positions padded to whole float16 vectors, images per im2col chunk. */
    private final boolean vector;
    private final int vectorPositions, vectorTaps, chunk;
    /** Floats of im2col scratch one chunk needs (shared by every convolution of the device). */
    static final long COL_BUDGET = 8L << 20;

    ClConv2d(OpenClDevice device, Device.ConvShape s, ParamRef weight) {
        this.device = device;
        this.k = device.new Kernels();
        this.s = s;
        this.weight = OpenClDevice.mem(weight.value());
        this.grad = weight.trainable() ? OpenClDevice.mem(weight.grad()) : null;
        this.wOff = Math.toIntExact(weight.offset());
        this.gOff = wOff;
        int ks = s.kernel(), oh = s.outH(), ow = s.outW();
        kk = ks * ks;
        taps = s.in() * kk;
        positions = oh * ow;
        int[] f = new int[4 * taps];
        for (int c = 0; c < s.in(); c++) {
            for (int u = 0; u < ks; u++) {
                for (int v = 0; v < ks; v++) {
                    int k = c * kk + u * ks + v;
                    f[4 * k] = c * s.h() * s.w() + u * s.w() + v;
                    f[4 * k + 1] = u;
                    f[4 * k + 2] = v;
                }
            }
        }
        forwardTaps = device.ints(f);
        int[] b = new int[4 * s.out() * kk];
        for (int o = 0; o < s.out(); o++) {
            for (int u = 0; u < ks; u++) {
                for (int v = 0; v < ks; v++) {
                    int k = o * kk + u * ks + v;
                    b[4 * k] = o * positions;
                    b[4 * k + 1] = u;
                    b[4 * k + 2] = v;
                    b[4 * k + 3] = o * s.in() * kk + u * ks + v;
                }
            }
        }
        inputTaps = device.ints(b);
        int[] p = new int[2 * positions];
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                p[2 * (oy * ow + ox)] = oy * s.stride() - s.padding();
                p[2 * (oy * ow + ox) + 1] = ox * s.stride() - s.padding();
            }
        }
        origins = device.ints(p);
        // the weight gradient reduces over images x positions, positions padded so that no step of
        // TK straddles two images; split so that a narrow layer still fills the device
        paddedPositions = OpenClDevice.ceilDiv(positions, ClRuntime.TK) * ClRuntime.TK;
        tiles = Math.toIntExact((long) s.n() * paddedPositions / ClRuntime.TK);
        int outputTiles = OpenClDevice.ceilDiv(s.out(), ClRuntime.TM) * OpenClDevice.ceilDiv(taps, ClRuntime.TN);
        int want = device.splits(outputTiles, tiles);
        tilesPerSplit = Math.max(1, OpenClDevice.ceilDiv(tiles, want));
        splits = Math.max(1, OpenClDevice.ceilDiv(tiles, tilesPerSplit));
        vector = device.convPath() == OpenClDevice.ConvPath.VECTOR;
        vectorPositions = OpenClDevice.ceilDiv(positions, 16) * 16;
        vectorTaps = OpenClDevice.ceilDiv(taps, 16) * 16;
        chunk = (int) Math.max(1, Math.min(s.n(), COL_BUDGET / ((long) vectorTaps * vectorPositions)));
    }

    private void check(Activation a, int channels, int h, int w, String what) {
        if (a.n() != s.n() || a.channels() != channels || a.h() != h || a.w() != w) {
            throw new IllegalArgumentException("conv " + s + ": " + what + " is [" + a.n() + ", " + a.channels() + ", " + a.h()
                    + ", " + a.w() + "]");
        }
    }

    @Override
    public void forward(Activation x, Activation y) {
        check(x, s.in(), s.h(), s.w(), "x");
        check(y, s.out(), s.outH(), s.outW(), "y");
        if (vector) {
            for (int img0 = 0; img0 < s.n(); img0 += chunk) {
                int images = Math.min(chunk, s.n() - img0);
                OpenClDevice.ClBuffer col = im2col(x, img0, images);
                device.launch(k.get("gemm_vec16", "forward"), vecGrid(positions, s.out(), images), VEC_LOCAL, s.out(), positions, taps,
                        weight, wOff, 0, taps, 1, col, 0, taps * vectorPositions, vectorPositions,
                        y, img0 * s.out() * positions, s.out() * positions, positions, false);
            }
            return;
        }
        int n = s.n() * positions;
        device.launch(k.get("conv2d_forward"), grid(n, s.out(), 1), local(),
                x, weight, wOff, y, forwardTaps, s.in(), s.h(), s.w(), s.out(), s.outH(), s.outW(), s.stride(), s.padding(),
                taps, n);
    }

    @Override
    public void backwardWeight(Activation dy, Activation x) {
        check(dy, s.out(), s.outH(), s.outW(), "dy");
        check(x, s.in(), s.h(), s.w(), "x");
        if (vector) {
            for (int img0 = 0; img0 < s.n(); img0 += chunk) {
                int images = Math.min(chunk, s.n() - img0);
                OpenClDevice.ClBuffer colT = device.colScratch((long) images * positions * vectorTaps);
                device.launch(k.get("im2col_t"), new long[] {vectorTaps / 16, positions, images}, null, x, img0, colT, forwardTaps, origins,
                        s.in() * s.h() * s.w(), s.h(), s.w(), taps, positions, vectorTaps);
                device.launch(k.get("conv2d_weight_grad_vec"), new long[] {vectorTaps / 16, OpenClDevice.ceilDiv(s.out(), 8)}, null,
                        dy, img0, s.out(), positions, colT, taps, vectorTaps, images, grad, gOff);
            }
            return;
        }
        OpenClDevice.ClBuffer partial = splits > 1 ? device.partials((long) splits * s.out() * taps) : null;
        device.launch(k.get("conv2d_backward_weight"), grid(taps, s.out(), splits), local(),
                dy, x, grad, gOff, partial, forwardTaps, origins, s.in(), s.h(), s.w(), s.out(), positions, taps,
                paddedPositions, tilesPerSplit, tiles);
        if (splits > 1) device.launch1(k.get("sum_partials"), s.out() * taps, partial, splits, s.out(), taps, grad, gOff, taps, true);
    }

    @Override
    public void backwardInput(Activation dy, Activation dx, boolean accumulate) {
        check(dy, s.out(), s.outH(), s.outW(), "dy");
        check(dx, s.in(), s.h(), s.w(), "dx");
        if (vector) {
            for (int img0 = 0; img0 < s.n(); img0 += chunk) {
                int images = Math.min(chunk, s.n() - img0);
                OpenClDevice.ClBuffer dcol = device.colScratch((long) images * taps * vectorPositions);
                device.launch(k.get("gemm_vec16", "input"), vecGrid(positions, taps, images), VEC_LOCAL, taps, positions, s.out(),
                        weight, wOff, 0, 1, taps, dy, img0 * s.out() * positions, s.out() * positions, positions,
                        dcol, 0, taps * vectorPositions, vectorPositions, false);
                int total = images * s.in() * s.h() * s.w();
                device.launch1(k.get("col2im"), total, dcol, img0, dx, s.in(), s.h(), s.w(), s.outH(), s.outW(), s.kernel(), s.stride(),
                        s.padding(), vectorPositions, accumulate, total);
            }
            return;
        }
        int n = s.n() * s.h() * s.w();
        device.launch(k.get("conv2d_backward_input"), grid(n, s.in(), 1), local(),
                dy, weight, wOff, dx, inputTaps, s.in(), s.h(), s.w(), s.out(), s.outH(), s.outW(), s.stride(), s.padding(),
                kk, s.out() * kk, n, accumulate);
    }

    /** The im2col matrix of {@code images} images from {@code img0}, in the device's scratch. */
    private OpenClDevice.ClBuffer im2col(Activation x, int img0, int images) {
        OpenClDevice.ClBuffer col = device.colScratch((long) images * taps * vectorPositions);
        device.launch(k.get("im2col"), new long[] {vectorPositions / 16, taps, images}, null, x, img0, col, forwardTaps, origins,
                s.in() * s.h() * s.w(), s.h(), s.w(), taps, positions, vectorPositions);
        return col;
    }

    /** gemm_vec16's work-items: 16 columns by VR = 8 rows each, per image, in work-groups of 16 along the columns. */
    static long[] vecGrid(int n, int m, int images) {
        return new long[] {OpenClDevice.roundUp(OpenClDevice.ceilDiv(n, 16), 16), OpenClDevice.ceilDiv(m, 8), images};
    }

    static final long[] VEC_LOCAL = {16, 1, 1};

    /** Work-items for an output of m rows and n columns in tiles, times {@code splits}. */
    private static long[] grid(int n, int m, int splits) {
        return new long[] {(long) OpenClDevice.ceilDiv(n, ClRuntime.TN) * ClRuntime.WX,
                (long) OpenClDevice.ceilDiv(m, ClRuntime.TM) * ClRuntime.WY, splits};
    }

    private static long[] local() {
        return new long[] {ClRuntime.WX, ClRuntime.WY, 1};
    }
}
