package mocoref.opencl;

import static org.jocl.CL.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import mocoref.MocoRefException;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * One OpenCL device (or sub-device) as a float32 {@link Device}, over JOCL, running the kernels of
 * {@code tornado-kernels/*.cl} (one kernel per operation; {@link KernelTwins} pairs each with its
 * twin). Buffers are flat {@code cl_mem}s; activations are plain NCHW, row-major, so reading one
 * back is a copy. Weights, activations, the queue and the optimizer state stay on the device: only
 * {@link #write}, {@link #read}, {@link #writeImages}, {@link #readActivation} (and the small index
 * tables of the shuffles, gathers and scatters) cross.
 *
 * <p>Commands go to one in-order queue and run asynchronously; a read waits for what came before it.
 * Deterministic: every kernel sums in a fixed order (work-group trees of a fixed shape, split-K
 * partials added in split order, no atomics), and the split counts depend only on the shapes and the
 * device's compute units, so a configuration gives the same bits in every process.
 */
public final class OpenClDevice implements Device {
    /** Work-items per work-group of the elementwise kernels. */
    static final int LOCAL_1D = 128;

    private final ClRuntime.Target target;
    private final cl_command_queue queue;
    private final Map<String, Long> launches = new TreeMap<>();
    /** With -Dmocoref.opencl.profile=true: wall time per kernel (each launch waited for), printed at close. */
    private static final boolean PROFILE = Boolean.getBoolean("mocoref.opencl.profile");
    private final Map<String, Long> nanos = new TreeMap<>();
    private final List<cl_mem> allocated = new ArrayList<>();
    /** Bound to pointer arguments a kernel does not read (no bias, no residual). */
    private final ClBuffer dummy;
    /** Split-K partial sums, shared by every product of this device (the queue is in order). */
    private ClBuffer partials;
    /** The vector path's im2col matrix, shared likewise. */
    private ClBuffer col;
    private final ConvPath convPath;
    /** The index table of the shuffles, gathers and scatters, rewritten per call. */
    private ClInts order;
    private boolean closed;

    /**
     * How convolutions run: TILED, implicit products on local-memory tiles (conv2d_forward,
     * conv2d_backward_input, conv2d_backward_weight: GPUs), or VECTOR, im2col and float16 products
     * without local memory (im2col, gemm_vec16, col2im, conv2d_weight_grad_vec: CPU devices, where
     * PoCL runs the tiles slowly). Both compute the same sums, each path in its own fixed order.
     */
    public enum ConvPath {
        TILED, VECTOR;

        /** VECTOR for CPU devices, else TILED; -Dmocoref.opencl.conv=tiled|vector overrides. */
        static ConvPath defaultFor(ClRuntime.DeviceInfo info) {
            String p = System.getProperty("mocoref.opencl.conv");
            if (p != null) return valueOf(p.toUpperCase(java.util.Locale.ROOT));
            return info.type().equals("CPU") ? VECTOR : TILED;
        }
    }

    /** A device on {@code target}, with its own queue on the target's shared context and program. */
    public OpenClDevice(ClRuntime.Target target) {
        this(target, ConvPath.defaultFor(target.info()));
    }

    /** A device on {@code target} whose convolutions take {@code convPath}. */
    public OpenClDevice(ClRuntime.Target target, ConvPath convPath) {
        this.target = target;
        this.convPath = convPath;
        this.queue = clCreateCommandQueue(target.program().context(), target.device(), 0, null);
        this.dummy = (ClBuffer) buffer(1);
    }

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public String describe() {
        ClRuntime.DeviceInfo d = target.info();
        return target.label() + " (" + d.platformName() + ", " + d.computeUnits() + " compute units, " + d.version() + "; "
                + convPath.name().toLowerCase(java.util.Locale.ROOT) + " convolutions)";
    }

    /** What it runs on. */
    public ClRuntime.Target target() {
        return target;
    }

    /** Launches per kernel name since this device was made, for the twin tests and the self-test. */
    public Map<String, Long> launches() {
        return new TreeMap<>(launches);
    }

    /** Waits for every command queued so far. */
    public void finish() {
        clFinish(queue);
    }

    public ConvPath convPath() {
        return convPath;
    }

    int computeUnits() {
        return target.info().computeUnits();
    }

    // ---- memory ----------------------------------------------------------------------------

    /** A flat buffer of floats. */
    static final class ClBuffer implements Buffer {
        final cl_mem mem;
        final long floats;

        ClBuffer(cl_mem mem, long floats) {
            this.mem = mem;
            this.floats = floats;
        }

        @Override
        public long floats() {
            return floats;
        }
    }

    /** An activation [n, channels, h, w], NCHW row-major in one buffer. */
    static final class ClActivation implements Activation {
        final cl_mem mem;
        final int n, channels, h, w;

        ClActivation(cl_mem mem, int n, int channels, int h, int w) {
            this.mem = mem;
            this.n = n;
            this.channels = channels;
            this.h = h;
            this.w = w;
        }

        int size() {
            return n * channels * h * w;
        }

        @Override
        public int n() {
            return n;
        }

        @Override
        public int channels() {
            return channels;
        }

        @Override
        public int h() {
            return h;
        }

        @Override
        public int w() {
            return w;
        }
    }

    /** An int table (the convolutions' index tables, the max pool's winners, shuffle orders). */
    static final class ClInts {
        final cl_mem mem;
        final int length;

        ClInts(cl_mem mem, int length) {
            this.mem = mem;
            this.length = length;
        }
    }

    static ClBuffer mem(Buffer b) {
        return (ClBuffer) b;
    }

    static ClActivation mem(Activation a) {
        return (ClActivation) a;
    }

    /** The kernels index with int: refuse what they could not address. */
    private int checkedFloats(long floats, String what) {
        long bytes = Math.max(1, floats) * Sizeof.cl_float;
        if (floats > Integer.MAX_VALUE - 1 || bytes > target.info().maxAlloc()) {
            throw new MocoRefException("opencl: " + what + " of " + floats + " floats exceeds what " + target.info().name()
                    + " allocates at once (" + target.info().maxAlloc() / (1 << 20) + " MiB); use a smaller batch or model");
        }
        return (int) floats;
    }

    private cl_mem allocate(long bytes) {
        cl_mem m = clCreateBuffer(target.program().context(), CL_MEM_READ_WRITE, Math.max(4, bytes), null, null);
        allocated.add(m);
        return m;
    }

    @Override
    public Buffer buffer(long floats) {
        int n = checkedFloats(floats, "a buffer");
        ClBuffer b = new ClBuffer(allocate((long) n * Sizeof.cl_float), n);
        fill(b, 0, n, 0f);
        return b;
    }

    @Override
    public Buffer rows(int rows, int cols) {
        return buffer((long) rows * cols);
    }

    @Override
    public Activation activation(int n, int channels, int h, int w) {
        int size = checkedFloats((long) n * channels * h * w, "an activation");
        ClActivation a = new ClActivation(allocate((long) size * Sizeof.cl_float), n, channels, h, w);
        launch1("fill", size, a.mem, 0, size, 0f);
        return a;
    }

    ClInts ints(int[] values) {
        ClInts t = new ClInts(allocate((long) values.length * Sizeof.cl_int), values.length);
        if (values.length > 0) {
            clEnqueueWriteBuffer(queue, t.mem, CL_TRUE, 0, (long) values.length * Sizeof.cl_int, Pointer.to(values), 0, null, null);
        }
        return t;
    }

    ClInts ints(int length) {
        return new ClInts(allocate((long) length * Sizeof.cl_int), length);
    }

    /** At least {@code floats} floats of split-K scratch; grown, never shrunk. */
    ClBuffer partials(long floats) {
        if (partials == null || partials.floats < floats) {
            if (partials != null) release(partials.mem); // freed once the commands using it have run
            partials = new ClBuffer(allocate(checkedFloats(floats, "split-K scratch") * (long) Sizeof.cl_float), floats);
        }
        return partials;
    }

    /** At least {@code floats} floats of im2col scratch; grown, never shrunk. */
    ClBuffer colScratch(long floats) {
        if (col == null || col.floats < floats) {
            if (col != null) release(col.mem);
            col = new ClBuffer(allocate(checkedFloats(floats, "im2col scratch") * (long) Sizeof.cl_float), floats);
        }
        return col;
    }

    private void release(cl_mem m) {
        allocated.remove(m);
        clReleaseMemObject(m);
    }

    @Override
    public void write(float[] src, int srcOffset, Buffer dst, long dstOffset, int length) {
        ClBuffer b = mem(dst);
        checkRange(b, dstOffset, length, "write");
        if (length == 0) return;
        clEnqueueWriteBuffer(queue, b.mem, CL_TRUE, dstOffset * Sizeof.cl_float, (long) length * Sizeof.cl_float,
                Pointer.to(src).withByteOffset((long) srcOffset * Sizeof.cl_float), 0, null, null);
    }

    @Override
    public void read(Buffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        ClBuffer b = mem(src);
        checkRange(b, srcOffset, length, "read");
        if (length == 0) return;
        clEnqueueReadBuffer(queue, b.mem, CL_TRUE, srcOffset * Sizeof.cl_float, (long) length * Sizeof.cl_float,
                Pointer.to(dst).withByteOffset((long) dstOffset * Sizeof.cl_float), 0, null, null);
    }

    private static void checkRange(ClBuffer b, long offset, long length, String what) {
        if (offset < 0 || length < 0 || offset + length > b.floats) {
            throw new IndexOutOfBoundsException(what + " of [" + offset + ", " + (offset + length) + ") outside a buffer of " + b.floats);
        }
    }

    @Override
    public void writeImages(float[] nchw, int offset, Activation dst) {
        ClActivation a = mem(dst);
        clEnqueueWriteBuffer(queue, a.mem, CL_TRUE, 0, (long) a.size() * Sizeof.cl_float,
                Pointer.to(nchw).withByteOffset((long) offset * Sizeof.cl_float), 0, null, null);
    }

    @Override
    public float[] readActivation(Activation src) {
        ClActivation a = mem(src);
        float[] out = new float[a.size()];
        clEnqueueReadBuffer(queue, a.mem, CL_TRUE, 0, (long) out.length * Sizeof.cl_float, Pointer.to(out), 0, null, null);
        return out;
    }

    @Override
    public void fill(Buffer dst, long offset, long n, float value) {
        ClBuffer b = mem(dst);
        checkRange(b, offset, n, "fill");
        launch1("fill", (int) n, b.mem, (int) offset, (int) n, value);
    }

    @Override
    public void add(Activation src, Activation dst) {
        ClActivation a = mem(src), b = mem(dst);
        if (a.size() != b.size()) throw new IllegalArgumentException("add needs two activations of one geometry");
        launch1("add", b.size(), a.mem, b.mem, b.size());
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        clFinish(queue);
        if (PROFILE && !nanos.isEmpty()) {
            long total = nanos.values().stream().mapToLong(Long::longValue).sum();
            StringBuilder b = new StringBuilder("opencl kernel time on " + target.label() + " (" + total / 1_000_000 + " ms):\n");
            nanos.entrySet().stream().sorted((x, y) -> Long.compare(y.getValue(), x.getValue())).forEach(e -> b.append(String.format(
                    "  %-28s %8d launches %10.1f ms %5.1f%%%n", e.getKey(), launches.get(e.getKey()), e.getValue() / 1e6, 100.0 * e.getValue() / total)));
            System.err.print(b);
        }
        for (cl_mem m : allocated) clReleaseMemObject(m);
        allocated.clear();
        for (Kernel k : shared.values()) clReleaseKernel(k.k);
        for (Kernel k : own) clReleaseKernel(k.k);
        shared.clear();
        own.clear();
        clReleaseCommandQueue(queue);
    }

    // ---- kernel launches ---------------------------------------------------------------------

    /**
     * A kernel object and the arguments last set on it. Setting an argument is a JNI call of 1-2 us
     * (measured on PoCL), and a step launches some 350 kernels of up to 20 arguments, so a layer
     * keeps kernel objects of its own, whose shapes and weights stay set, and a launch sets only
     * the arguments that changed (OpenCL keeps a kernel's arguments until they are set again).
     */
    static final class Kernel {
        final String name;
        final cl_kernel k;
        final Object[] last = new Object[32];

        Kernel(String name, cl_kernel k) {
            this.name = name;
            this.k = k;
        }
    }

    private final Map<String, Kernel> shared = new HashMap<>();
    private final List<Kernel> own = new ArrayList<>();

    /** This device's shared kernel object called {@code name}. */
    private Kernel shared(String name) {
        return shared.computeIfAbsent(name, n -> new Kernel(n, clCreateKernel(target.program().program(), n, null)));
    }

    /** A kernel object of its own, for one layer's launches. */
    Kernel kernel(String name) {
        Kernel k = new Kernel(name, clCreateKernel(target.program().program(), name, null));
        own.add(k);
        return k;
    }

    /** A layer's own kernel objects, one per (kernel, call site), made on first use. */
    final class Kernels {
        private final Map<String, Kernel> map = new HashMap<>();

        Kernel get(String name) {
            return get(name, "");
        }

        Kernel get(String name, String site) {
            return map.computeIfAbsent(name + "/" + site, key -> kernel(name));
        }
    }

    /** {@link #launch(Kernel, long[], long[], Object...)} on the device's shared kernel object. */
    void launch(String name, long[] global, long[] local, Object... args) {
        launch(shared(name), global, local, args);
    }

    /**
     * Runs {@code kernel} over {@code global} work-items in groups of {@code local} (null: the
     * runtime's choice), with arguments in order: {@code cl_mem}, device memory objects (null binds
     * a dummy buffer), {@code Integer}, {@code Float}, {@code Boolean} (as int); only those that
     * differ from the kernel object's last launch are set.
     */
    void launch(Kernel kernel, long[] global, long[] local, Object... args) {
        if (closed) throw new IllegalStateException("this OpenCL device is closed");
        cl_kernel k = kernel.k;
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a == null) a = dummy.mem;
            if (a instanceof ClBuffer b) a = b.mem;
            else if (a instanceof ClActivation b) a = b.mem;
            else if (a instanceof ClInts b) a = b.mem;
            if (a instanceof Boolean v) a = v ? 1 : 0;
            Object was = kernel.last[i];
            if (was != null && (a instanceof cl_mem ? was == a : a.equals(was))) continue;
            if (a instanceof cl_mem m) clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
            else if (a instanceof Integer v) clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
            else if (a instanceof Float v) clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
            else throw new IllegalArgumentException(kernel.name + ": argument " + i + " of unknown kind " + a.getClass());
            kernel.last[i] = a;
        }
        long t0 = 0;
        if (PROFILE) {
            clFinish(queue);
            t0 = System.nanoTime();
        }
        clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, null);
        launches.merge(kernel.name, 1L, Long::sum);
        if (PROFILE) {
            clFinish(queue);
            nanos.merge(kernel.name, System.nanoTime() - t0, Long::sum);
        }
    }

    /** An elementwise kernel over n work-items (rounded up to whole work-groups; the kernel checks n). */
    void launch1(String name, int n, Object... args) {
        launch1(shared(name), n, args);
    }

    void launch1(Kernel kernel, int n, Object... args) {
        if (n <= 0) return;
        launch(kernel, new long[] {roundUp(n, LOCAL_1D)}, new long[] {LOCAL_1D}, args);
    }

    static long roundUp(long n, long multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    static int ceilDiv(long a, long b) {
        return Math.toIntExact((a + b - 1) / b);
    }

    /**
     * How many ways to split a product's reduction of {@code kTiles} steps when its output has
     * {@code outputTiles} work-groups: enough work-groups for about four per compute unit, each
     * split at least four steps long. Depends only on the shapes and the device, never on timing.
     */
    int splits(int outputTiles, int kTiles) {
        int want = ceilDiv(4L * computeUnits(), outputTiles);
        return Math.max(1, Math.min(want, kTiles / 4));
    }

    /**
     * C (= or +=) alpha A B (+ bias), A[m, k] = A[aOff + m sam + k sak], B[k, n] = B[bOff + k sbk +
     * n sbn], C at cOff with rows ldc: the gemm kernel, split along k (then sum_partials) when the
     * output is too small to fill the device and there is no bias.
     */
    void gemm(int m, int n, int k, float alpha, cl_mem a, int aOff, int sam, int sak, cl_mem b, int bOff, int sbk, int sbn,
              cl_mem c, int cOff, int ldc, boolean accumulate, cl_mem bias, int biasOff) {
        gemm(shared("gemm"), shared("sum_partials"), m, n, k, alpha, a, aOff, sam, sak, b, bOff, sbk, sbn, c, cOff, ldc, accumulate,
                bias, biasOff);
    }

    /** {@link #gemm} on the given kernel objects (a layer's own). */
    void gemm(Kernel gemm, Kernel sum, int m, int n, int k, float alpha, cl_mem a, int aOff, int sam, int sak, cl_mem b, int bOff,
              int sbk, int sbn, cl_mem c, int cOff, int ldc, boolean accumulate, cl_mem bias, int biasOff) {
        if (m <= 0 || n <= 0) return;
        int tilesM = ceilDiv(m, ClRuntime.TM), tilesN = ceilDiv(n, ClRuntime.TN), kTiles = ceilDiv(k, ClRuntime.TK);
        int splits = bias != null || k == 0 ? 1 : splits(tilesM * tilesN, kTiles);
        int kChunk = Math.max(1, ceilDiv(kTiles, splits)) * ClRuntime.TK;
        splits = Math.max(1, ceilDiv(k, kChunk)); // no empty split
        ClBuffer p = splits > 1 ? partials((long) splits * m * n) : null;
        launch(gemm, new long[] {(long) tilesN * ClRuntime.WX, (long) tilesM * ClRuntime.WY, splits},
                new long[] {ClRuntime.WX, ClRuntime.WY, 1},
                m, n, k, alpha, a, aOff, sam, sak, sak == 1, b, bOff, sbk, sbn, sbk == 1 && sbn != 1,
                c, cOff, ldc, accumulate, bias, biasOff, bias != null, p, kChunk);
        if (splits > 1) launch1(sum, m * n, p, splits, m, n, c, cOff, ldc, accumulate);
    }

    // ---- layers ----------------------------------------------------------------------------

    @Override
    public Device.Conv2d conv2d(ConvShape shape, ParamRef weight) {
        return new ClConv2d(this, shape, weight);
    }

    @Override
    public Device.BatchNorm2d batchNorm2d(int channels, int n, int h, int w, int maxGroups, ParamRef weight, ParamRef bias,
                                          Buffer runningStats, long runningMeanOffset, long runningVarOffset) {
        return new ClBatchNorm2d(this, channels, n, h, w, maxGroups, weight, bias, mem(runningStats),
                Math.toIntExact(runningMeanOffset), Math.toIntExact(runningVarOffset));
    }

    @Override
    public Device.MaxPool2d maxPool2d(int channels, int n, int h, int w, int kernel, int stride, int padding) {
        return new ClPooling.Max(this, channels, n, h, w, kernel, stride, padding);
    }

    @Override
    public Device.GlobalAvgPool globalAvgPool(int channels, int n, int h, int w) {
        return new ClPooling.GlobalAvg(this, channels, n, h, w);
    }

    @Override
    public Device.Linear linear(int in, int out, int maxRows, ParamRef weight, ParamRef bias) {
        return new ClLinear(this, in, out, weight, bias);
    }

    // ---- the head, the loss and the optimizer ------------------------------------------------

    @Override
    public void relu(Buffer x, Buffer y, int n) {
        launch1("relu", n, mem(x), mem(y), n);
    }

    @Override
    public void reluBackward(Buffer dy, Buffer y, Buffer dx, int n) {
        launch1("relu_backward", n, mem(dy), mem(y), mem(dx), n);
    }

    @Override
    public void l2Normalize(Buffer x, Buffer y, Buffer norm, int rows, int cols) {
        launch1("l2_normalize", rows, mem(x), mem(y), norm == null ? null : mem(norm), norm != null, rows, cols);
    }

    @Override
    public void l2NormalizeBackward(Buffer dy, Buffer y, Buffer norm, Buffer dx, int rows, int cols) {
        launch1("l2_normalize_backward", rows, mem(dy), mem(y), mem(norm), mem(dx), rows, cols);
    }

    /** The index table of the shuffles, gathers and scatters, holding {@code order} (rewritten per call: the queue is in order). */
    private ClInts order(int[] values) {
        if (order == null || order.length < values.length) {
            if (order != null) release(order.mem);
            order = ints(values.length);
        }
        if (values.length > 0) {
            clEnqueueWriteBuffer(queue, order.mem, CL_TRUE, 0, (long) values.length * Sizeof.cl_int, Pointer.to(values), 0, null, null);
        }
        return order;
    }

    @Override
    public void shuffleRows(Activation src, int[] order, Activation dst) {
        ClActivation a = mem(src), b = mem(dst);
        if (a.n != b.n || a.channels != b.channels || a.h != b.h || a.w != b.w || order.length != a.n) {
            throw new IllegalArgumentException("shuffleRows needs two activations of one geometry and a permutation of its images");
        }
        launch1("shuffle_images", a.size(), a.mem, order(order), b.mem, a.channels * a.h * a.w, a.size());
    }

    @Override
    public void unshuffleRows(Buffer src, int[] order, Buffer dst, int rows, int cols) {
        launch1("unshuffle_rows", rows * cols, mem(src), order(order), mem(dst), cols, rows * cols);
    }

    @Override
    public void contrastiveLogits(Buffer q, Buffer k, Buffer queue, int n, int dim, int kq, double T, Buffer logits) {
        float invT = (float) (1.0 / T);
        // l_neg: logits[:, 1:] = q queue / T, [n, dim] x [dim, K]
        gemm(n, kq, dim, invT, mem(q).mem, 0, dim, 1, mem(queue).mem, 0, kq, 1, mem(logits).mem, 1, 1 + kq, false, null, 0);
        launch1("positive_logits", n, mem(q), mem(k), mem(logits), dim, 1 + kq, invT, n);
    }

    @Override
    public void contrastiveLogitsBackward(Buffer dLogits, Buffer k, Buffer queue, int n, int dim, int kq, double T, Buffer dq) {
        float invT = (float) (1.0 / T);
        // dq = dLogits[:, 1:] queue^T / T: [n, K] x [K, dim]
        gemm(n, dim, kq, invT, mem(dLogits).mem, 1, 1 + kq, 1, mem(queue).mem, 0, 1, kq, mem(dq).mem, 0, dim, false, null, 0);
        launch1("positive_logits_backward", n * dim, mem(dLogits), 1 + kq, mem(k), mem(dq), dim, invT, n * dim);
    }

    @Override
    public void crossEntropy(Buffer logits, int rows, int cols, int meanOver, Buffer dLogits, Buffer lossAndHit) {
        if (rows <= 0) return;
        launch("cross_entropy", new long[] {256L * rows}, new long[] {256}, mem(logits), cols, meanOver, mem(dLogits), mem(lossAndHit));
    }

    @Override
    public void batchLogits(Buffer qk, int n, int dim, double T, Buffer logits) {
        launch1("batch_logits", n * n, mem(qk), n, dim, (float) (1.0 / T), mem(logits));
    }

    @Override
    public void batchLogitsBackward(Buffer dLogits, Buffer qk, int n, int dim, double T, Buffer dqk) {
        launch1("batch_logits_backward", 2 * n * dim, mem(dLogits), mem(qk), n, dim, (float) (1.0 / T), mem(dqk));
    }

    @Override
    public void gatherRows(Buffer table, int cols, int[] index, Buffer out) {
        launch1("gather_rows", index.length * cols, mem(table), cols, order(index), mem(out), index.length * cols);
    }

    @Override
    public void gatherColumns(Buffer table, int cols, int[] index, Buffer out) {
        launch1("gather_columns", index.length * cols, mem(table), cols, order(index), index.length, mem(out));
    }

    @Override
    public void scatterRows(Buffer src, int cols, int[] index, Buffer table) {
        launch1("scatter_rows", index.length * cols, mem(src), cols, order(index), mem(table), index.length * cols);
    }

    @Override
    public void momentumUpdate(Buffer k, Buffer q, long n, double m) {
        int count = Math.toIntExact(n);
        launch1("momentum_update", count, mem(k), mem(q), (float) m, (float) (1.0 - m), count);
    }

    @Override
    public void sgd(Buffer theta, Buffer grad, Buffer buf, long offset, long n, double lr, double momentum, double weightDecay,
                    boolean first) {
        int count = Math.toIntExact(n);
        launch1("sgd", count, mem(theta), mem(grad), mem(buf), Math.toIntExact(offset), count, (float) lr, (float) momentum,
                (float) weightDecay, first || momentum == 0);
    }

    @Override
    public void enqueue(Buffer queue, Buffer keys, int n, int dim, int kq, int ptr) {
        launch1("enqueue_keys", n * dim, mem(queue), mem(keys), dim, kq, ptr, n * dim);
    }
}
