package mocoref.cpu;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.parallel.WorkerPool;

/**
 * The host CPU as a float32 {@link Device}: buffers are Java arrays, activations use the padded
 * channel-major {@link Plane} layout (so that stride-1 convolutions read their taps in place), and
 * the layers run on all cores through the {@link Kernels} micro-kernels (Vector API, or scalar
 * loops without the incubator module). Fusions stay inside: BatchNorm with the residual add and
 * ReLU, im2col panels gathered per task, one im2col buffer shared by every convolution of the device.
 *
 * <p>Deterministic for a given thread count: every parallel loop writes disjoint outputs or sums
 * per-thread partials of a fixed split in a fixed order, and the kernels give the same bits
 * interpreted and compiled.
 */
public final class CpuDevice implements Device {
    private final Kernels kernels;
    private final WorkerPool pool;
    private final Map<List<Integer>, Plane> planes = new HashMap<>();
    private final Gemm gemm;
    /** The im2col buffer: for the 7x7 stem and the fallback weight gradient. */
    private final SharedArray col = new SharedArray("an im2col buffer");
    /**
     * The micro-kernel's packed weights (A): a convolution packs its weights into it at the start of
     * every forward and data gradient and is done with them when the call returns, so one buffer
     * serves every convolution of the device. Per convolution they were 134 MB at width 64, batch
     * 256 (the forward's for both encoders, the data gradient's for the query's).
     */
    private final SharedArray packedWeights = new SharedArray("the packed weights of a convolution");
    /** Per worker, a Winograd convolution's transformed tiles and outputs (one convolution runs at a time). */
    private final SharedArray winogradWorkspace = new SharedArray("a Winograd convolution's workspace");
    /** What the convolutions' weight gradients share (one runs at a time). */
    private final WeightGradient.Workspace weightGradientWorkspace = new WeightGradient.Workspace();
    /** The memory of {@link #sharedActivation}, by bank. */
    private final Map<Integer, Bank> banks = new HashMap<>();
    private final Sharing sharing;
    /** The fewest channels (in and out) at which a 3x3 stride-1 convolution runs by Winograd (see {@link CpuConv2d#winogradFrom}). */
    private final int winogradFrom;

    /** On {@code threads} threads (the shared pool of that size). */
    public CpuDevice(int threads) {
        this(Kernels.INSTANCE, WorkerPool.shared(threads));
    }

    CpuDevice(Kernels kernels, WorkerPool pool) {
        this(kernels, pool, Sharing.BANKS);
    }

    /** How {@link #sharedActivation} shares memory; the other two settings are for tests. */
    enum Sharing {
        /** One array per bank. */
        BANKS,
        /** One array per bank, and a new holder's span starts as NaN (see {@link Bank}). */
        POISONED_BANKS,
        /** An array per activation, as {@link Device}'s default. */
        NONE
    }

    CpuDevice(Kernels kernels, WorkerPool pool, Sharing sharing) {
        this(kernels, pool, sharing, CpuConv2d.winogradFrom(kernels));
    }

    private CpuDevice(Kernels kernels, WorkerPool pool, Sharing sharing, int winogradFrom) {
        this.kernels = kernels;
        this.pool = pool;
        this.gemm = new Gemm(kernels, pool);
        this.sharing = sharing;
        this.winogradFrom = winogradFrom;
    }

    /**
     * On {@code threads} threads, every 3x3 stride-1 convolution of at least {@code winogradFrom}
     * channels in and out by Winograd (1: all of them; Integer.MAX_VALUE: none): for the tests that
     * hold that path to the golden cases and the benchmarks that compare it with the direct one.
     */
    public static CpuDevice withWinogradFrom(int threads, int winogradFrom) {
        return new CpuDevice(Kernels.INSTANCE, WorkerPool.shared(threads), Sharing.BANKS, winogradFrom);
    }

    int winogradFrom() {
        return winogradFrom;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        return kernels.name() + " kernels, " + pool.threads() + " threads";
    }

    public int threads() {
        return pool.threads();
    }

    // ---- memory ----------------------------------------------------------------------------

    /** A flat buffer: a Java array. */
    static final class CpuBuffer implements Buffer {
        final float[] data;

        CpuBuffer(float[] data) {
            this.data = data;
        }

        @Override
        public long floats() {
            return data.length;
        }
    }

    /**
     * An activation: {@code channels} rows of {@link Plane#rowLength} floats in {@code plane}'s
     * layout, in an array of its own or at the start of a shared {@link Bank}'s.
     */
    static final class CpuActivation implements Activation {
        final Plane plane;
        final int channels;
        private final float[] own;
        private final Bank bank;

        CpuActivation(Plane plane, int channels) {
            this.plane = plane;
            this.channels = channels;
            this.own = new float[plane.size(channels)];
            this.bank = null;
        }

        CpuActivation(Plane plane, int channels, Bank bank) {
            this.plane = plane;
            this.channels = channels;
            this.own = null;
            this.bank = bank;
            bank.reserve(plane.size(channels));
        }

        /** Floats it spans: whole channel rows. */
        int floats() {
            return channels * plane.rowLength();
        }

        /** Its values, for reading: a shared activation must be the last one written in its bank. */
        float[] values() {
            if (bank == null) return own;
            if (bank.holder != this) {
                throw new IllegalStateException("an activation of " + plane.h() + "x" + plane.w() + " is read after another one "
                        + "of its bank was written, or before it was written");
            }
            return bank.data;
        }

        /**
         * Its memory, for a layer that writes all of it: a shared activation takes its bank over,
         * with zeros where no layer writes but readers expect them (another geometry's values may
         * lie there): the lead and the tail of each channel row, and the end of the span past the
         * last image (BatchNorm works on the images of a logical device, a whole number of image
         * strides). The layers write every image's positions and the padding column and row that
         * follow them (they multiply by the mask).
         */
        float[] overwritten() {
            if (bank == null) return own;
            if (bank.holder != this) {
                float[] data = bank.take(this);
                int rl = plane.rowLength(), from = plane.lead(), to = from + plane.n() * plane.imageStride();
                for (int c = 0; c < channels; c++) {
                    if (bank.poison) Arrays.fill(data, c * rl + from, c * rl + to, Float.NaN);
                    Arrays.fill(data, c * rl, c * rl + from, 0f);
                    Arrays.fill(data, c * rl + to, (c + 1) * rl, 0f);
                }
            }
            return bank.data;
        }

        boolean sharesMemoryWith(CpuActivation other) {
            return other != this && bank != null && other.bank == bank;
        }

        @Override
        public int n() {
            return plane.n();
        }

        @Override
        public int channels() {
            return channels;
        }

        @Override
        public int h() {
            return plane.h();
        }

        @Override
        public int w() {
            return plane.w();
        }
    }

    /**
     * Memory that activations of different geometries take turns in ({@link #sharedActivation}):
     * the largest of them, allocated when first written; {@code holder} is the one whose values
     * it holds. With {@code poison}, a test setting, a new holder's span starts as NaN instead of
     * the previous holder's values, so that a layer that does not write all of it shows.
     */
    static final class Bank {
        private long size;
        private float[] data = new float[0];
        private CpuActivation holder;
        final boolean poison;

        Bank(boolean poison) {
            this.poison = poison;
        }

        void reserve(long floats) {
            size = Math.max(size, floats);
        }

        float[] take(CpuActivation a) {
            if (data.length < size) data = new float[Math.toIntExact(size)]; // a later network needed more: nothing is live between steps
            holder = a;
            return data;
        }
    }

    static float[] data(Buffer b) {
        return ((CpuBuffer) b).data;
    }

    /** An activation a layer reads (or adds into). */
    static float[] data(Activation a) {
        return ((CpuActivation) a).values();
    }

    /**
     * An activation a layer overwrites whole, after it has read {@code inputs}: none of them may
     * share its memory (two activations of one bank live at once would be a pool's mistake).
     */
    static float[] overwritten(Activation out, Activation... inputs) {
        CpuActivation o = (CpuActivation) out;
        for (Activation in : inputs) {
            if (in != null && o.sharesMemoryWith((CpuActivation) in)) {
                throw new IllegalStateException("a layer writes an activation over one it reads (one bank)");
            }
        }
        return o.overwritten();
    }

    /** The layout of n images of h x w on this device's tile (one object per geometry: its mask is large). */
    Plane plane(int n, int h, int w) {
        return planes.computeIfAbsent(List.of(n, h, w), k -> Plane.of(n, h, w, kernels.nr()));
    }

    /**
     * A work array that one layer call at a time uses, so every layer of the device shares it: layers
     * reserve their size when built, and it is allocated (at the largest size) on first use.
     */
    private static final class SharedArray {
        private final String what;
        private long size;
        private float[] data = new float[0];

        SharedArray(String what) {
            this.what = what;
        }

        void reserve(long floats) {
            if (floats > Integer.MAX_VALUE - 16) {
                throw new MocoRefException(what + " of " + floats + " floats exceeds a Java array; use a smaller batch or model");
            }
            size = Math.max(size, floats);
        }

        float[] get() {
            if (data.length < size) data = new float[(int) size];
            return data;
        }
    }

    void reserveCol(long floats) {
        col.reserve(floats);
    }

    void reservePackedWeights(long floats) {
        packedWeights.reserve(floats);
    }

    void reserveWinogradWorkspace(long floats) {
        winogradWorkspace.reserve(floats);
    }

    float[] winogradWorkspace() {
        return winogradWorkspace.get();
    }

    /** The packed-weights buffer, valid until the calling layer's method returns. */
    float[] packedWeights() {
        return packedWeights.get();
    }

    WeightGradient.Workspace weightGradientWorkspace() {
        return weightGradientWorkspace;
    }

    float[] col() {
        return col.get();
    }

    @Override
    public Buffer buffer(long floats) {
        if (floats > Integer.MAX_VALUE - 16) {
            throw new MocoRefException("a buffer of " + floats + " floats exceeds a Java array; use a smaller batch or model");
        }
        return new CpuBuffer(new float[(int) floats]);
    }

    @Override
    public Buffer rows(int rows, int cols) {
        return buffer((long) rows * cols);
    }

    @Override
    public Activation activation(int n, int channels, int h, int w) {
        return new CpuActivation(plane(n, h, w), channels);
    }

    /**
     * Activations of every geometry share one array per bank, as large as the largest of them (the
     * first stage's): kept per geometry, the shared activations of width 64's later stages took
     * about 200 MB more at batch 256.
     */
    @Override
    public Activation sharedActivation(int bank, int n, int channels, int h, int w) {
        if (sharing == Sharing.NONE) return activation(n, channels, h, w);
        return new CpuActivation(plane(n, h, w), channels,
                banks.computeIfAbsent(bank, k -> new Bank(sharing == Sharing.POISONED_BANKS)));
    }

    @Override
    public void write(float[] src, int srcOffset, Buffer dst, long dstOffset, int length) {
        System.arraycopy(src, srcOffset, data(dst), Math.toIntExact(dstOffset), length);
    }

    @Override
    public void read(Buffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        System.arraycopy(data(src), Math.toIntExact(srcOffset), dst, dstOffset, length);
    }

    @Override
    public void writeImages(float[] nchw, int offset, Activation dst) {
        CpuActivation a = (CpuActivation) dst;
        float[] data = a.overwritten();
        Arrays.fill(data, 0, a.floats(), 0f); // load writes the images' positions only
        a.plane.load(nchw, offset, a.channels, data);
    }

    @Override
    public float[] readActivation(Activation src) {
        CpuActivation a = (CpuActivation) src;
        return a.plane.unload(a.values(), a.channels);
    }

    @Override
    public void fill(Buffer dst, long offset, long n, float value) {
        int from = Math.toIntExact(offset);
        Arrays.fill(data(dst), from, Math.toIntExact(from + n), value);
    }

    @Override
    public void add(Activation src, Activation dst) {
        CpuActivation s = (CpuActivation) src, d = (CpuActivation) dst;
        if (s.plane != d.plane || s.channels != d.channels) throw new IllegalArgumentException("add needs two activations of one geometry");
        addSrc = s.values();
        addDst = d.values();
        forRanges(0, d.floats(), addRange); // padding is zero in both
    }

    private float[] addSrc, addDst;
    private final Range addRange = (from, to) -> {
        float[] a = addSrc, b = addDst;
        for (int i = from; i < to; i++) b[i] += a[i];
    };

    // ---- elementwise work on the pool ----------------------------------------------------------

    /** Elementwise work over [from, to): each index's result depends on that index alone. */
    @FunctionalInterface
    private interface Range {
        void run(int from, int to);
    }

    /**
     * Indices per task of {@link #forRanges}: large enough that a dispatch (a few microseconds) is
     * noise, small enough that two threads share a parameter tensor of width 16.
     */
    private static final int RANGE_CHUNK = 1 << 15;
    private Range range;
    private int rangeFrom, rangeTo;
    private final WorkerPool.Task rangeTask = (i, worker) -> {
        int from = rangeFrom + i * RANGE_CHUNK;
        range.run(from, Math.min(rangeTo, from + RANGE_CHUNK));
    };

    /**
     * Runs {@code r} over [from, to) in chunks on the pool (on the calling thread when it is one
     * chunk). The weight-sized updates (SGD, the key encoder's momentum update) and the gradient's
     * residual add were serial and left the other threads idle: 2.5% of a step's samples at width
     * 32, batch 64 (JFR). Elementwise, so the same bits for any split and any thread count.
     */
    private void forRanges(int from, int to, Range r) {
        if (to - from <= RANGE_CHUNK) {
            r.run(from, to);
            return;
        }
        range = r;
        rangeFrom = from;
        rangeTo = to;
        pool.forEach((to - from + RANGE_CHUNK - 1) / RANGE_CHUNK, rangeTask);
    }

    @Override
    public void close() {}

    // ---- layers ----------------------------------------------------------------------------

    @Override
    public Device.Conv2d conv2d(ConvShape s, ParamRef weight) {
        return new CpuConv2d(s, weight, plane(s.n(), s.h(), s.w()), plane(s.n(), s.outH(), s.outW()), kernels, pool, this);
    }

    @Override
    public Device.BatchNorm2d batchNorm2d(int channels, int n, int h, int w, int maxGroups, ParamRef weight, ParamRef bias,
                                          Buffer runningStats, long runningMeanOffset, long runningVarOffset) {
        return new CpuBatchNorm2d(channels, plane(n, h, w), maxGroups, weight, bias, data(runningStats),
                Math.toIntExact(runningMeanOffset), Math.toIntExact(runningVarOffset), kernels, pool);
    }

    @Override
    public Device.MaxPool2d maxPool2d(int channels, int n, int h, int w, int kernel, int stride, int padding) {
        int oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1;
        return new Pooling.Max(channels, kernel, stride, padding, plane(n, h, w), plane(n, oh, ow), pool);
    }

    @Override
    public Device.GlobalAvgPool globalAvgPool(int channels, int n, int h, int w) {
        return new Pooling.GlobalAvg(channels, plane(n, h, w), kernels, pool);
    }

    @Override
    public Device.Linear linear(int in, int out, int maxRows, ParamRef weight, ParamRef bias) {
        return new CpuLinear(in, out, weight, bias, gemm);
    }

    // ---- the head, the loss and the optimizer ------------------------------------------------

    @Override
    public void relu(Buffer x, Buffer y, int n) {
        float[] a = data(x), b = data(y);
        for (int i = 0; i < n; i++) b[i] = Math.max(a[i], 0f);
    }

    @Override
    public void reluBackward(Buffer dy, Buffer y, Buffer dx, int n) {
        float[] d = data(dy), out = data(y), g = data(dx);
        for (int i = 0; i < n; i++) g[i] = out[i] > 0 ? d[i] : 0f;
    }

    @Override
    public void l2Normalize(Buffer xb, Buffer yb, Buffer normb, int n, int d) {
        float[] x = data(xb), y = data(yb), norms = normb == null ? null : data(normb);
        for (int r = 0; r < n; r++) {
            double sq = 0;
            for (int i = 0; i < d; i++) sq += (double) x[r * d + i] * x[r * d + i];
            double norm = Math.sqrt(sq), denom = Math.max(norm, 1e-12);
            if (norms != null) norms[r] = (float) norm;
            for (int i = 0; i < d; i++) y[r * d + i] = (float) (x[r * d + i] / denom);
        }
    }

    @Override
    public void l2NormalizeBackward(Buffer dyb, Buffer yb, Buffer normb, Buffer dxb, int n, int d) {
        float[] dy = data(dyb), y = data(yb), norms = data(normb), dx = data(dxb);
        for (int r = 0; r < n; r++) {
            double norm = norms[r];
            if (norm > 1e-12) {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double) y[r * d + i] * dy[r * d + i];
                for (int i = 0; i < d; i++) dx[r * d + i] = (float) ((dy[r * d + i] - y[r * d + i] * dot) / norm);
            } else {
                for (int i = 0; i < d; i++) dx[r * d + i] = (float) (dy[r * d + i] / 1e-12);
            }
        }
    }

    @Override
    public void shuffleRows(Activation src, int[] order, Activation dst) {
        CpuActivation a = (CpuActivation) src, b = (CpuActivation) dst;
        Plane p = a.plane;
        if (b.plane != p || a.channels != b.channels || order.length != p.n()) {
            throw new IllegalArgumentException("shuffleRows needs two activations of one geometry and a permutation of its images");
        }
        int is = p.imageStride();
        float[] from = a.values(), to = overwritten(b, a);
        for (int c = 0; c < a.channels; c++) {
            int row = c * p.rowLength() + p.lead();
            for (int i = 0; i < order.length; i++) System.arraycopy(from, row + order[i] * is, to, row + i * is, is);
            Arrays.fill(to, row + order.length * is, row + p.span(), 0f); // the span's last tile, past the images
        }
    }

    @Override
    public void unshuffleRows(Buffer src, int[] order, Buffer dst, int rows, int cols) {
        float[] s = data(src), d = data(dst);
        for (int i = 0; i < rows; i++) System.arraycopy(s, i * cols, d, order[i] * cols, cols);
    }

    @Override
    public void contrastiveLogits(Buffer qb, Buffer kb, Buffer queueb, int n, int dim, int kq, double T, Buffer logitsb) {
        float[] q = data(qb), k = data(kb), queue = data(queueb), logits = data(logitsb);
        float invT = (float) (1.0 / T);
        gemm.multiply(n, kq, dim, invT, q, 0, dim, 1, queue, 0, kq, 1, logits, 1, 1 + kq, false);
        for (int r = 0; r < n; r++) {
            double pos = 0;
            for (int c = 0; c < dim; c++) pos += (double) q[r * dim + c] * k[r * dim + c];
            logits[r * (1 + kq)] = (float) (pos / T);
        }
    }

    @Override
    public void contrastiveLogitsBackward(Buffer dLogitsb, Buffer kb, Buffer queueb, int n, int dim, int kq, double T, Buffer dqb) {
        float[] dLogits = data(dLogitsb), k = data(kb), queue = data(queueb), dq = data(dqb);
        float invT = (float) (1.0 / T);
        gemm.multiply(n, dim, kq, invT, dLogits, 1, 1 + kq, 1, queue, 0, 1, kq, dq, 0, dim, false);
        for (int r = 0; r < n; r++) {
            float g = dLogits[r * (1 + kq)] * invT;
            for (int c = 0; c < dim; c++) dq[r * dim + c] += g * k[r * dim + c];
        }
    }

    /** The arguments of the cross-entropy in flight, read by its per-row task. */
    private float[] ceLogits, ceGrad, ceOut;
    private int ceCols, ceMeanOver;
    private final WorkerPool.Task crossEntropyTask = this::crossEntropyRow;

    @Override
    public void crossEntropy(Buffer logits, int rows, int cols, int meanOver, Buffer dLogits, Buffer lossAndHit) {
        ceLogits = data(logits);
        ceGrad = data(dLogits);
        ceOut = data(lossAndHit);
        ceCols = cols;
        ceMeanOver = meanOver;
        pool.forEach(rows, crossEntropyTask);
    }

    private void crossEntropyRow(int r, int worker) {
        int off = r * ceCols, n = ceMeanOver;
        float[] logits = ceLogits, d = ceGrad;
        float max = kernels.max(logits, off, ceCols);
        double sum = kernels.expShifted(logits, off, ceCols, max, d, off);
        ceOut[2 * r] = (float) (max + Math.log(sum) - logits[off]);
        boolean top = true;
        for (int j = 1; j < ceCols && top; j++) top = logits[off + j] < logits[off];
        ceOut[2 * r + 1] = top ? 1f : 0f;
        float scale = (float) (1.0 / (sum * n));
        for (int j = 0; j < ceCols; j++) d[off + j] *= scale;
        d[off] -= 1f / n;
    }

    @Override
    public void batchLogits(Buffer qkb, int n, int dim, double T, Buffer logitsb) {
        float[] qk = data(qkb), logits = data(logitsb);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double dot = 0;
                for (int c = 0; c < dim; c++) dot += (double) qk[i * dim + c] * qk[(n + j) * dim + c];
                logits[i * n + (j == i ? 0 : j < i ? j + 1 : j)] = (float) (dot / T);
            }
        }
    }

    @Override
    public void batchLogitsBackward(Buffer dLogitsb, Buffer qkb, int n, int dim, double T, Buffer dqkb) {
        float[] dl = data(dLogitsb), qk = data(qkb), dqk = data(dqkb);
        java.util.Arrays.fill(dqk, 0, 2 * n * dim, 0f);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                float g = (float) (dl[i * n + (j == i ? 0 : j < i ? j + 1 : j)] / T);
                for (int c = 0; c < dim; c++) {
                    dqk[i * dim + c] += g * qk[(n + j) * dim + c];
                    dqk[(n + j) * dim + c] += g * qk[i * dim + c];
                }
            }
        }
    }

    @Override
    public void gatherRows(Buffer table, int cols, int[] index, Buffer out) {
        float[] t = data(table), o = data(out);
        for (int i = 0; i < index.length; i++) System.arraycopy(t, index[i] * cols, o, i * cols, cols);
    }

    @Override
    public void gatherColumns(Buffer table, int cols, int[] index, Buffer out) {
        float[] t = data(table), o = data(out);
        int k = index.length;
        for (int i = 0; i < k; i++) {
            for (int c = 0; c < cols; c++) o[c * k + i] = t[index[i] * cols + c];
        }
    }

    @Override
    public void scatterRows(Buffer src, int cols, int[] index, Buffer table) {
        float[] s = data(src), t = data(table);
        for (int i = 0; i < index.length; i++) System.arraycopy(s, i * cols, t, index[i] * cols, cols);
    }

    @Override
    public void momentumUpdate(Buffer kb, Buffer qb, long n, double m) {
        emaK = data(kb);
        emaQ = data(qb);
        emaM = m;
        forRanges(0, Math.toIntExact(n), emaRange);
    }

    private float[] emaK, emaQ;
    private double emaM;
    /**
     * k m + q (1 - m) in float32 as PyTorch computes {@code param_k.data * m + param_q.data * (1. - m)}:
     * two products and a sum, each rounded to float (Java does not fuse them), m and 1 - m rounded to
     * float first; so the same bits as PyTorch, and a loop C2 vectorizes (in doubles it was scalar:
     * 6.8 ms against PyTorch's 1.0 at width 32 on a Sapphire Rapids VM, docs/performance.md).
     */
    private final Range emaRange = (from, to) -> {
        float[] k = emaK, q = emaQ;
        float m = (float) emaM, oneMinusM = (float) (1.0 - emaM);
        for (int i = from; i < to; i++) k[i] = k[i] * m + q[i] * oneMinusM;
    };

    @Override
    public void sgd(Buffer thetab, Buffer gradb, Buffer bufb, long offset, long n, double lr, double momentum, double wd,
                    boolean first) {
        sgdTheta = data(thetab);
        sgdGrad = data(gradb);
        sgdBuf = data(bufb);
        sgdLr = lr;
        sgdMomentum = (first || momentum == 0) ? 0 : momentum; // a first step's buffer is d itself
        sgdWd = wd;
        forRanges(Math.toIntExact(offset), Math.toIntExact(offset + n), sgdRange);
    }

    private float[] sgdTheta, sgdGrad, sgdBuf;
    private double sgdLr, sgdMomentum, sgdWd;
    /**
     * PyTorch's SGD step in float32, as its CPU kernels round it: {@code d = grad.add(theta, alpha=wd)}
     * and {@code theta.add_(buf, alpha=-lr)} are fused multiply-adds (ATen's add with alpha is
     * {@code fmadd(b, alpha, a)}), {@code buf.mul_(momentum).add_(d)} a rounded product and a sum.
     * So the same bits as PyTorch, and loops C2 vectorizes (in doubles it was scalar: 5.3 ms against
     * PyTorch's 2.0 at width 32 on a Sapphire Rapids VM).
     */
    private final Range sgdRange = (from, to) -> {
        float[] theta = sgdTheta, grad = sgdGrad, buf = sgdBuf;
        float lr = (float) sgdLr, momentum = (float) sgdMomentum, wd = (float) sgdWd;
        if (momentum == 0) {
            for (int i = from; i < to; i++) {
                float d = Math.fma(theta[i], wd, grad[i]);
                buf[i] = d;
                theta[i] = Math.fma(d, -lr, theta[i]);
            }
        } else {
            for (int i = from; i < to; i++) {
                float b = buf[i] * momentum + Math.fma(theta[i], wd, grad[i]);
                buf[i] = b;
                theta[i] = Math.fma(b, -lr, theta[i]);
            }
        }
    };

    @Override
    public void enqueue(Buffer queueb, Buffer keysb, int n, int dim, int kq, int ptr) {
        float[] queue = data(queueb), keys = data(keysb);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < dim; c++) queue[c * kq + ptr + i] = keys[i * dim + c];
        }
    }
}
