package mocoref.device;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import mocoref.MocoRefException;

/**
 * D devices as one {@link Device}, data parallel, as DistributedDataParallel runs MoCo on D GPUs:
 * the unchanged float32 model runs on it, and each device runs the forward and backward of its share
 * of the batch.
 *
 * <ul>
 * <li><b>State</b> ({@link #buffer}: parameters, the queue, optimizer and BatchNorm buffers) is
 *     replicated: a write goes to every replica, a read comes from device 0.</li>
 * <li><b>Batch data</b> ({@link #rows}, {@link #activation}) is split by rows (images): device d
 *     holds rows [d R / D, (d+1) R / D). Layers are made per device for its share of the images.</li>
 * <li><b>Gradients</b>: a buffer bound as a parameter's gradient ({@link ParamRef#grad}) holds, per
 *     device, that device's share; its value is the sum of the shares, which a read computes on the
 *     host in device order (a fixed order: the same bits every run). {@link #sgd} sums the shares
 *     the same way and gives every replica the same sum, so that the replicas stay bit-identical.</li>
 * <li><b>BatchNorm</b>: the G logical devices of shuffle BN are split G / D per device (G and the
 *     batch must be multiples of D); running statistics follow chunk 0, so device 0's are
 *     broadcast to the other replicas before anything there reads them (DistributedDataParallel
 *     broadcasts rank 0's buffers).</li>
 * <li>{@link #shuffleRows}, {@link #unshuffleRows} and {@link #enqueue} (every replica's queue takes
 *     all N keys) move rows between devices through the host; {@link #crossEntropy}'s
 *     {@code meanOver} keeps the global batch size.</li>
 * </ul>
 * The devices run concurrently where their calls are asynchronous (OpenCL queues); this class
 * calls them one after the other from the caller's thread.
 */
public final class DataParallelDevice implements Device {
    private final List<Device> devices;
    private final int d;
    private final List<DpBuffer> staleBuffers = new ArrayList<>();

    /** Over {@code devices} (at least two), which it owns and closes. */
    public DataParallelDevice(List<? extends Device> devices) {
        if (devices.size() < 2) throw new IllegalArgumentException("a data-parallel device needs at least two devices");
        this.devices = List.copyOf(devices);
        this.d = devices.size();
    }

    /** The devices, in order: device 0 holds the authoritative state. */
    public List<Device> devices() {
        return devices;
    }

    @Override
    public String name() {
        return devices.get(0).name();
    }

    @Override
    public String describe() {
        StringJoiner j = new StringJoiner("; ", d + " devices, data parallel: ", "");
        for (Device x : devices) j.add(x.describe());
        return j.toString();
    }

    // ---- memory ----------------------------------------------------------------------------

    enum Kind {
        /** The same values on every device. */
        REPLICATED,
        /** A gradient: the value is the sum over devices. */
        SUMMED,
        /** Batch rows, split over the devices. */
        ROWS
    }

    /** The first row of each device's share of {@code rows}, and {@code rows} at the end. */
    private int[] split(int rows) {
        int[] start = new int[d + 1];
        for (int i = 0; i <= d; i++) start[i] = (int) ((long) i * rows / d);
        return start;
    }

    final class DpBuffer implements Buffer {
        Kind kind;
        final Buffer[] parts;
        final long floats;
        final int rows, cols;
        final int[] start;
        /** REPLICATED: ranges {offset, length} where devices 1.. lag behind device 0. */
        final Set<List<Long>> stale = new LinkedHashSet<>();
        /** SUMMED: per device, the all-reduced sum that {@link #sgd} reads. */
        Buffer[] reduced;

        DpBuffer(Kind kind, Buffer[] parts, long floats, int rows, int cols) {
            this.kind = kind;
            this.parts = parts;
            this.floats = floats;
            this.rows = rows;
            this.cols = cols;
            this.start = kind == Kind.ROWS ? split(rows) : null;
        }

        @Override
        public long floats() {
            return floats;
        }

        /** Device i's floats [lo, hi) of the whole buffer (ROWS). */
        long lo(int i) {
            return (long) start[i] * cols;
        }

        long hi(int i) {
            return (long) start[i + 1] * cols;
        }
    }

    final class DpActivation implements Activation {
        final Activation[] parts;
        final int n, channels, h, w;
        final int[] start;

        DpActivation(Activation[] parts, int n, int channels, int h, int w) {
            this.parts = parts;
            this.n = n;
            this.channels = channels;
            this.h = h;
            this.w = w;
            this.start = split(n);
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

        int per() {
            return channels * h * w;
        }
    }

    static DpBuffer dp(Buffer b) {
        return (DpBuffer) b;
    }

    static DpActivation dp(Activation a) {
        return (DpActivation) a;
    }

    private int count(int[] start, int i) {
        return start[i + 1] - start[i];
    }

    @Override
    public Buffer buffer(long floats) {
        Buffer[] parts = new Buffer[d];
        for (int i = 0; i < d; i++) parts[i] = devices.get(i).buffer(floats);
        return new DpBuffer(Kind.REPLICATED, parts, floats, 0, 0);
    }

    @Override
    public Buffer rows(int rows, int cols) {
        int[] start = split(rows);
        Buffer[] parts = new Buffer[d];
        for (int i = 0; i < d; i++) if (count(start, i) > 0) parts[i] = devices.get(i).rows(count(start, i), cols);
        return new DpBuffer(Kind.ROWS, parts, (long) rows * cols, rows, cols);
    }

    @Override
    public Activation activation(int n, int channels, int h, int w) {
        int[] start = split(n);
        Activation[] parts = new Activation[d];
        for (int i = 0; i < d; i++) if (count(start, i) > 0) parts[i] = devices.get(i).activation(count(start, i), channels, h, w);
        return new DpActivation(parts, n, channels, h, w);
    }

    @Override
    public void write(float[] src, int srcOffset, Buffer dst, long dstOffset, int length) {
        DpBuffer b = dp(dst);
        switch (b.kind) {
            case ROWS -> {
                for (int i = 0; i < d; i++) {
                    long from = Math.max(dstOffset, b.lo(i)), to = Math.min(dstOffset + length, b.hi(i));
                    if (from < to) devices.get(i).write(src, (int) (srcOffset + from - dstOffset), b.parts[i], from - b.lo(i), (int) (to - from));
                }
            }
            case REPLICATED -> {
                synchronize(b);
                for (int i = 0; i < d; i++) devices.get(i).write(src, srcOffset, b.parts[i], dstOffset, length);
            }
            case SUMMED -> {
                devices.get(0).write(src, srcOffset, b.parts[0], dstOffset, length);
                for (int i = 1; i < d; i++) devices.get(i).fill(b.parts[i], dstOffset, length, 0f);
            }
        }
    }

    @Override
    public void read(Buffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        DpBuffer b = dp(src);
        switch (b.kind) {
            case ROWS -> {
                for (int i = 0; i < d; i++) {
                    long from = Math.max(srcOffset, b.lo(i)), to = Math.min(srcOffset + length, b.hi(i));
                    if (from < to) devices.get(i).read(b.parts[i], from - b.lo(i), dst, (int) (dstOffset + from - srcOffset), (int) (to - from));
                }
            }
            case REPLICATED -> devices.get(0).read(b.parts[0], srcOffset, dst, dstOffset, length);
            case SUMMED -> {
                float[] sum = sum(b, srcOffset, length);
                System.arraycopy(sum, 0, dst, dstOffset, length);
            }
        }
    }

    /** The sum over devices, in device order, of a gradient's shares at [offset, offset + length). */
    private float[] sum(DpBuffer b, long offset, int length) {
        float[] sum = new float[length], part = new float[length];
        devices.get(0).read(b.parts[0], offset, sum, 0, length);
        for (int i = 1; i < d; i++) {
            devices.get(i).read(b.parts[i], offset, part, 0, length);
            for (int j = 0; j < length; j++) sum[j] += part[j];
        }
        return sum;
    }

    @Override
    public void writeImages(float[] nchw, int offset, Activation dst) {
        DpActivation a = dp(dst);
        for (int i = 0; i < d; i++) {
            if (a.parts[i] != null) devices.get(i).writeImages(nchw, offset + a.start[i] * a.per(), a.parts[i]);
        }
    }

    @Override
    public float[] readActivation(Activation src) {
        DpActivation a = dp(src);
        float[] out = new float[a.n * a.per()];
        for (int i = 0; i < d; i++) {
            if (a.parts[i] == null) continue;
            float[] part = devices.get(i).readActivation(a.parts[i]);
            System.arraycopy(part, 0, out, a.start[i] * a.per(), part.length);
        }
        return out;
    }

    @Override
    public void fill(Buffer dst, long offset, long n, float value) {
        DpBuffer b = dp(dst);
        switch (b.kind) {
            case ROWS -> {
                for (int i = 0; i < d; i++) {
                    long from = Math.max(offset, b.lo(i)), to = Math.min(offset + n, b.hi(i));
                    if (from < to) devices.get(i).fill(b.parts[i], from - b.lo(i), to - from, value);
                }
            }
            case REPLICATED -> {
                synchronize(b);
                for (int i = 0; i < d; i++) devices.get(i).fill(b.parts[i], offset, n, value);
            }
            case SUMMED -> {
                devices.get(0).fill(b.parts[0], offset, n, value);
                for (int i = 1; i < d; i++) devices.get(i).fill(b.parts[i], offset, n, 0f);
            }
        }
    }

    @Override
    public void add(Activation src, Activation dst) {
        DpActivation a = dp(src), b = dp(dst);
        for (int i = 0; i < d; i++) if (b.parts[i] != null) devices.get(i).add(a.parts[i], b.parts[i]);
    }

    /**
     * From now on {@code b} holds a gradient: the sum of its shares. Its values so far (a replica's)
     * stay its value: device 0 keeps them, the others start from zero.
     */
    private void summed(Buffer buffer) {
        DpBuffer b = dp(buffer);
        if (b.kind == Kind.SUMMED) return;
        if (b.kind != Kind.REPLICATED) throw new IllegalArgumentException("a parameter's gradient must be a state buffer, not batch rows");
        for (int i = 1; i < d; i++) devices.get(i).fill(b.parts[i], 0, b.floats, 0f);
        b.kind = Kind.SUMMED;
    }

    /** Device i's slice of a parameter. */
    private ParamRef part(ParamRef p, int i) {
        return new ParamRef(dp(p.value()).parts[i], p.grad() == null ? null : dp(p.grad()).parts[i], p.offset(), p.size());
    }

    private void bind(ParamRef p) {
        if (dp(p.value()).kind != Kind.REPLICATED) throw new IllegalArgumentException("a parameter must live in a state buffer");
        if (p.grad() != null) summed(p.grad());
    }

    /** Device {@code i}'s part of {@code b}: its replica, its share of a gradient, or its rows. */
    public Buffer part(Buffer b, int i) {
        return dp(b).parts[i];
    }

    /** Makes devices 1.. agree with device 0 on {@code b}'s stale ranges (BatchNorm's running statistics). */
    private void synchronize(DpBuffer b) {
        if (b.stale.isEmpty()) return;
        for (List<Long> r : b.stale) {
            float[] v = new float[Math.toIntExact(r.get(1))];
            devices.get(0).read(b.parts[0], r.get(0), v, 0, v.length);
            for (int i = 1; i < d; i++) devices.get(i).write(v, 0, b.parts[i], r.get(0), v.length);
        }
        b.stale.clear();
        staleBuffers.remove(b);
    }

    /** Brings every replica up to date with device 0 (running statistics are broadcast lazily). */
    public void synchronize() {
        for (DpBuffer b : List.copyOf(staleBuffers)) synchronize(b);
    }

    /** Whether every replica of state buffer {@code b} holds the same bits (after {@link #synchronize()}). */
    public boolean replicasIdentical(Buffer buffer) {
        DpBuffer b = dp(buffer);
        if (b.kind != Kind.REPLICATED) throw new IllegalArgumentException("only state buffers have replicas");
        synchronize(b);
        int n = Math.toIntExact(b.floats);
        float[] first = new float[n], other = new float[n];
        devices.get(0).read(b.parts[0], 0, first, 0, n);
        for (int i = 1; i < d; i++) {
            devices.get(i).read(b.parts[i], 0, other, 0, n);
            for (int j = 0; j < n; j++) if (Float.floatToRawIntBits(first[j]) != Float.floatToRawIntBits(other[j])) return false;
        }
        return true;
    }

    // ---- layers ----------------------------------------------------------------------------

    @Override
    public Conv2d conv2d(ConvShape s, ParamRef weight) {
        bind(weight);
        int[] start = split(s.n());
        Conv2d[] parts = new Conv2d[d];
        for (int i = 0; i < d; i++) {
            if (count(start, i) == 0) continue;
            parts[i] = devices.get(i).conv2d(new ConvShape(s.in(), s.out(), s.kernel(), s.stride(), s.padding(), count(start, i), s.h(), s.w()),
                    part(weight, i));
        }
        return new Conv2d() {
            @Override
            public void forward(Activation x, Activation y) {
                for (int i = 0; i < d; i++) if (parts[i] != null) parts[i].forward(dp(x).parts[i], dp(y).parts[i]);
            }

            @Override
            public void backwardWeight(Activation dy, Activation x) {
                for (int i = 0; i < d; i++) if (parts[i] != null) parts[i].backwardWeight(dp(dy).parts[i], dp(x).parts[i]);
            }

            @Override
            public void backwardInput(Activation dy, Activation dx, boolean accumulate) {
                for (int i = 0; i < d; i++) if (parts[i] != null) parts[i].backwardInput(dp(dy).parts[i], dp(dx).parts[i], accumulate);
            }
        };
    }

    @Override
    public BatchNorm2d batchNorm2d(int channels, int n, int h, int w, int maxGroups, ParamRef weight, ParamRef bias,
                                   Buffer runningStats, long runningMeanOffset, long runningVarOffset) {
        if (maxGroups > 1 && (maxGroups % d != 0 || n % d != 0)) throw notDivisible(n, maxGroups);
        bind(weight);
        bind(bias);
        DpBuffer stats = dp(runningStats);
        if (stats.kind != Kind.REPLICATED) throw new IllegalArgumentException("running statistics must live in a state buffer");
        int[] start = split(n);
        int subGroups = Math.max(1, maxGroups / d);
        BatchNorm2d[] parts = new BatchNorm2d[d];
        for (int i = 0; i < d; i++) {
            if (count(start, i) == 0) continue;
            parts[i] = devices.get(i).batchNorm2d(channels, count(start, i), h, w, subGroups, part(weight, i), part(bias, i),
                    stats.parts[i], runningMeanOffset, runningVarOffset);
        }
        return new BatchNorm2d() {
            @Override
            public void forwardTrain(Activation x, Activation residual, boolean relu, Activation y, int groups) {
                if (groups % d != 0 || n % d != 0) throw notDivisible(n, groups);
                for (int i = 0; i < d; i++) {
                    parts[i].forwardTrain(dp(x).parts[i], residual == null ? null : dp(residual).parts[i], relu, dp(y).parts[i], groups / d);
                }
                // device 0's chunk 0 is the batch's chunk 0: its running statistics are the model's
                stats.stale.add(List.of(runningMeanOffset, (long) channels));
                stats.stale.add(List.of(runningVarOffset, (long) channels));
                if (!staleBuffers.contains(stats)) staleBuffers.add(stats);
            }

            @Override
            public void forwardEval(Activation x, Activation residual, boolean relu, Activation y) {
                synchronize(stats);
                for (int i = 0; i < d; i++) {
                    if (parts[i] != null) parts[i].forwardEval(dp(x).parts[i], residual == null ? null : dp(residual).parts[i], relu, dp(y).parts[i]);
                }
            }

            @Override
            public void backward(Activation dy, Activation y, Activation x, Activation dz, Activation dx) {
                for (int i = 0; i < d; i++) {
                    parts[i].backward(dp(dy).parts[i], y == null ? null : dp(y).parts[i], dp(x).parts[i], dp(dz).parts[i], dp(dx).parts[i]);
                }
            }
        };
    }

    private MocoRefException notDivisible(int n, int groups) {
        return new MocoRefException("data parallel over " + d + " devices: the batch (" + n + " images) and the logical devices of "
                + "shuffle BN (G = " + groups + ", --devices) must both be multiples of " + d + ", so that each device holds whole "
                + "logical devices");
    }

    @Override
    public MaxPool2d maxPool2d(int channels, int n, int h, int w, int kernel, int stride, int padding) {
        int[] start = split(n);
        MaxPool2d[] parts = new MaxPool2d[d];
        for (int i = 0; i < d; i++) if (count(start, i) > 0) parts[i] = devices.get(i).maxPool2d(channels, count(start, i), h, w, kernel, stride, padding);
        int oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1;
        return new MaxPool2d() {
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
                for (int i = 0; i < d; i++) if (parts[i] != null) parts[i].forward(dp(x).parts[i], dp(y).parts[i]);
            }

            @Override
            public void backward(Activation dy, Activation dx) {
                for (int i = 0; i < d; i++) if (parts[i] != null) parts[i].backward(dp(dy).parts[i], dp(dx).parts[i]);
            }
        };
    }

    @Override
    public GlobalAvgPool globalAvgPool(int channels, int n, int h, int w) {
        int[] start = split(n);
        GlobalAvgPool[] parts = new GlobalAvgPool[d];
        for (int i = 0; i < d; i++) if (count(start, i) > 0) parts[i] = devices.get(i).globalAvgPool(channels, count(start, i), h, w);
        return new GlobalAvgPool() {
            @Override
            public void forward(Activation x, Buffer y) {
                requireRows(y, n);
                for (int i = 0; i < d; i++) if (parts[i] != null) parts[i].forward(dp(x).parts[i], dp(y).parts[i]);
            }

            @Override
            public void backward(Buffer dy, Activation dx) {
                requireRows(dy, n);
                for (int i = 0; i < d; i++) if (parts[i] != null) parts[i].backward(dp(dy).parts[i], dp(dx).parts[i]);
            }
        };
    }

    /** Batch rows split as {@code rows} rows are (every batch buffer of one operation splits alike). */
    private DpBuffer requireRows(Buffer buffer, int rows) {
        DpBuffer b = dp(buffer);
        if (b.kind != Kind.ROWS || b.rows != rows) {
            throw new IllegalArgumentException("expected batch rows of " + rows + " rows, got a " + b.kind + " buffer"
                    + (b.kind == Kind.ROWS ? " of " + b.rows + " rows" : ""));
        }
        return b;
    }

    /** Device i's share of the first {@code rows} rows of a buffer split as {@code b}. */
    private static int localRows(DpBuffer b, int i, int rows) {
        return Math.max(0, Math.min(rows, b.start[i + 1]) - b.start[i]);
    }

    @Override
    public Linear linear(int in, int out, int maxRows, ParamRef weight, ParamRef bias) {
        bind(weight);
        bind(bias);
        int[] start = split(maxRows);
        Linear[] parts = new Linear[d];
        for (int i = 0; i < d; i++) {
            if (count(start, i) > 0) parts[i] = devices.get(i).linear(in, out, count(start, i), part(weight, i), part(bias, i));
        }
        return new Linear() {
            @Override
            public void forward(Buffer x, Buffer y, int rows) {
                DpBuffer a = requireRows(x, maxRows), b = requireRows(y, maxRows);
                for (int i = 0; i < d; i++) {
                    int r = localRows(a, i, rows);
                    if (r > 0) parts[i].forward(a.parts[i], b.parts[i], r);
                }
            }

            @Override
            public void backward(Buffer dy, Buffer x, Buffer dx, int rows) {
                DpBuffer g = requireRows(dy, maxRows), a = requireRows(x, maxRows), gx = dx == null ? null : requireRows(dx, maxRows);
                for (int i = 0; i < d; i++) {
                    int r = localRows(a, i, rows);
                    if (r > 0) parts[i].backward(g.parts[i], a.parts[i], gx == null ? null : gx.parts[i], r);
                }
            }
        };
    }

    // ---- the head, the loss and the optimizer ------------------------------------------------

    /** Elementwise over the first n floats of batch rows (split) or of state (every replica). */
    private interface Elementwise {
        void run(Device device, int i, int n);
    }

    private void elementwise(Buffer x, int n, Elementwise op) {
        DpBuffer b = dp(x);
        for (int i = 0; i < d; i++) {
            if (b.kind == Kind.ROWS) {
                long local = Math.min(n, b.hi(i)) - b.lo(i);
                if (local > 0) op.run(devices.get(i), i, (int) local);
            } else {
                op.run(devices.get(i), i, n);
            }
        }
    }

    @Override
    public void relu(Buffer x, Buffer y, int n) {
        elementwise(x, n, (dev, i, m) -> dev.relu(dp(x).parts[i], dp(y).parts[i], m));
    }

    @Override
    public void reluBackward(Buffer dy, Buffer y, Buffer dx, int n) {
        elementwise(dy, n, (dev, i, m) -> dev.reluBackward(dp(dy).parts[i], dp(y).parts[i], dp(dx).parts[i], m));
    }

    @Override
    public void l2Normalize(Buffer x, Buffer y, Buffer norm, int rows, int cols) {
        DpBuffer a = requireRows(x, dp(x).rows);
        for (int i = 0; i < d; i++) {
            int r = localRows(a, i, rows);
            if (r > 0) devices.get(i).l2Normalize(a.parts[i], dp(y).parts[i], norm == null ? null : dp(norm).parts[i], r, cols);
        }
    }

    @Override
    public void l2NormalizeBackward(Buffer dy, Buffer y, Buffer norm, Buffer dx, int rows, int cols) {
        DpBuffer a = requireRows(dy, dp(dy).rows);
        for (int i = 0; i < d; i++) {
            int r = localRows(a, i, rows);
            if (r > 0) devices.get(i).l2NormalizeBackward(a.parts[i], dp(y).parts[i], dp(norm).parts[i], dp(dx).parts[i], r, cols);
        }
    }

    @Override
    public void shuffleRows(Activation src, int[] order, Activation dst) {
        DpActivation a = dp(src), b = dp(dst);
        if (a.n != b.n || a.per() != b.per() || order.length != a.n) {
            throw new IllegalArgumentException("shuffleRows needs two activations of one geometry and a permutation of its images");
        }
        float[] all = readActivation(src), shuffled = new float[all.length];
        int per = a.per();
        for (int i = 0; i < order.length; i++) System.arraycopy(all, order[i] * per, shuffled, i * per, per);
        writeImages(shuffled, 0, dst);
    }

    @Override
    public void unshuffleRows(Buffer src, int[] order, Buffer dst, int rows, int cols) {
        float[] all = new float[rows * cols], out = new float[rows * cols];
        read(src, 0, all, 0, all.length);
        for (int i = 0; i < rows; i++) System.arraycopy(all, i * cols, out, order[i] * cols, cols);
        write(out, 0, dst, 0, out.length);
    }

    @Override
    public void contrastiveLogits(Buffer q, Buffer k, Buffer queue, int n, int dim, int kq, double T, Buffer logits) {
        DpBuffer a = requireRows(q, dp(q).rows);
        for (int i = 0; i < d; i++) {
            int r = localRows(a, i, n);
            if (r > 0) devices.get(i).contrastiveLogits(a.parts[i], dp(k).parts[i], state(queue, i), r, dim, kq, T, dp(logits).parts[i]);
        }
    }

    @Override
    public void contrastiveLogitsBackward(Buffer dLogits, Buffer k, Buffer queue, int n, int dim, int kq, double T, Buffer dq) {
        DpBuffer a = requireRows(dLogits, dp(dLogits).rows);
        for (int i = 0; i < d; i++) {
            int r = localRows(a, i, n);
            if (r > 0) devices.get(i).contrastiveLogitsBackward(a.parts[i], dp(k).parts[i], state(queue, i), r, dim, kq, T, dp(dq).parts[i]);
        }
    }

    /** Replica i of a state buffer, up to date. */
    private Buffer state(Buffer buffer, int i) {
        DpBuffer b = dp(buffer);
        if (b.kind != Kind.REPLICATED) throw new IllegalArgumentException("expected a state buffer, got " + b.kind);
        if (i > 0) synchronize(b);
        return b.parts[i];
    }

    @Override
    public void crossEntropy(Buffer logits, int rows, int cols, int meanOver, Buffer dLogits, Buffer lossAndHit) {
        DpBuffer a = requireRows(logits, dp(logits).rows);
        for (int i = 0; i < d; i++) {
            int r = localRows(a, i, rows);
            if (r > 0) devices.get(i).crossEntropy(a.parts[i], r, cols, meanOver, dp(dLogits).parts[i], dp(lossAndHit).parts[i]);
        }
    }

    /**
     * End-to-end's logits pair every query with every key, which live on different devices: through
     * the host, on device 0 (an ablation's operation, not the default step's).
     */
    @Override
    public void batchLogits(Buffer qk, int n, int dim, double T, Buffer logits) {
        Device first = devices.get(0);
        Buffer all = firstScratch("qk", (long) 2 * n * dim), out = firstScratch("logits", (long) n * n);
        float[] v = new float[2 * n * dim], l = new float[n * n];
        read(qk, 0, v, 0, v.length);
        first.write(v, 0, all, 0, v.length);
        first.batchLogits(all, n, dim, T, out);
        first.read(out, 0, l, 0, l.length);
        write(l, 0, logits, 0, l.length);
    }

    @Override
    public void batchLogitsBackward(Buffer dLogits, Buffer qk, int n, int dim, double T, Buffer dqk) {
        Device first = devices.get(0);
        Buffer dl = firstScratch("dlogits", (long) n * n), all = firstScratch("qk", (long) 2 * n * dim),
                out = firstScratch("dqk", (long) 2 * n * dim);
        float[] g = new float[n * n], v = new float[2 * n * dim];
        read(dLogits, 0, g, 0, g.length);
        read(qk, 0, v, 0, v.length);
        first.write(g, 0, dl, 0, g.length);
        first.write(v, 0, all, 0, v.length);
        first.batchLogitsBackward(dl, all, n, dim, T, out);
        first.read(out, 0, v, 0, v.length);
        write(v, 0, dqk, 0, v.length);
    }

    private final java.util.Map<String, Buffer> firstScratch = new java.util.HashMap<>();

    /** Device 0's scratch buffer {@code name} of {@code floats} floats, made once per name and size. */
    private Buffer firstScratch(String name, long floats) {
        return firstScratch.computeIfAbsent(name + "/" + floats, k -> devices.get(0).buffer(floats));
    }

    /** From a replicated table each device gathers its own rows; from batch rows, through the host. */
    @Override
    public void gatherRows(Buffer table, int cols, int[] index, Buffer out) {
        DpBuffer t = dp(table), o = dp(out);
        if (t.kind == Kind.REPLICATED && o.kind == Kind.ROWS) {
            for (int i = 0; i < d; i++) {
                int[] mine = Arrays.copyOfRange(index, o.start[i], o.start[i + 1]);
                if (mine.length > 0) devices.get(i).gatherRows(state(table, i), cols, mine, o.parts[i]);
            }
            return;
        }
        float[] all = new float[Math.toIntExact(t.floats)], g = new float[index.length * cols];
        read(table, 0, all, 0, all.length);
        for (int i = 0; i < index.length; i++) System.arraycopy(all, index[i] * cols, g, i * cols, cols);
        write(g, 0, out, 0, g.length);
    }

    @Override
    public void gatherColumns(Buffer table, int cols, int[] index, Buffer out) {
        DpBuffer t = dp(table), o = dp(out);
        if (t.kind == Kind.REPLICATED && o.kind == Kind.REPLICATED) { // every replica gathers the same columns
            for (int i = 0; i < d; i++) devices.get(i).gatherColumns(state(table, i), cols, index, state(out, i));
            return;
        }
        float[] all = new float[Math.toIntExact(t.floats)], g = new float[index.length * cols];
        read(table, 0, all, 0, all.length);
        for (int i = 0; i < index.length; i++) for (int c = 0; c < cols; c++) g[c * index.length + i] = all[index[i] * cols + c];
        write(g, 0, out, 0, g.length);
    }

    /** Into a replicated table, every replica takes all the rows (through the host, as enqueue's keys). */
    @Override
    public void scatterRows(Buffer src, int cols, int[] index, Buffer table) {
        float[] rows = new float[index.length * cols];
        read(src, 0, rows, 0, rows.length);
        DpBuffer t = dp(table);
        if (t.kind == Kind.REPLICATED) {
            Buffer[] scratch = scratch(rows.length);
            for (int i = 0; i < d; i++) {
                devices.get(i).write(rows, 0, scratch[i], 0, rows.length);
                devices.get(i).scatterRows(scratch[i], cols, index, state(table, i));
            }
            return;
        }
        float[] all = new float[Math.toIntExact(t.floats)];
        read(table, 0, all, 0, all.length);
        for (int i = 0; i < index.length; i++) System.arraycopy(rows, i * cols, all, index[i] * cols, cols);
        write(all, 0, table, 0, all.length);
    }

    /** k = k m + q (1 - m) on every replica (state), or on each device's rows (batch rows). */
    @Override
    public void momentumUpdate(Buffer k, Buffer q, long n, double m) {
        if (dp(k).kind == Kind.ROWS) {
            elementwise(k, Math.toIntExact(n), (dev, i, local) -> dev.momentumUpdate(dp(k).parts[i], dp(q).parts[i], local, m));
            return;
        }
        for (int i = 0; i < d; i++) devices.get(i).momentumUpdate(state(k, i), state(q, i), n, m);
    }

    @Override
    public void sgd(Buffer theta, Buffer grad, Buffer buf, long offset, long n, double lr, double momentum, double weightDecay,
                    boolean first) {
        DpBuffer g = dp(grad);
        Buffer[] gradient;
        if (g.kind == Kind.SUMMED) { // all-reduce through the host, in device order: every replica gets the same sum
            if (g.reduced == null) {
                g.reduced = new Buffer[d];
                for (int i = 0; i < d; i++) g.reduced[i] = devices.get(i).buffer(g.floats);
            }
            float[] sum = sum(g, offset, Math.toIntExact(n));
            for (int i = 0; i < d; i++) devices.get(i).write(sum, 0, g.reduced[i], offset, sum.length);
            gradient = g.reduced;
        } else {
            gradient = new Buffer[d];
            for (int i = 0; i < d; i++) gradient[i] = state(grad, i);
        }
        for (int i = 0; i < d; i++) {
            devices.get(i).sgd(state(theta, i), gradient[i], state(buf, i), offset, n, lr, momentum, weightDecay, first);
        }
    }

    /** Per device, scratch buffers that receive rows every replica takes (enqueue's keys, the bank's rows). */
    private final List<Buffer[]> keyScratch = new ArrayList<>();

    /** Per device, a scratch buffer of {@code floats} floats (made once per size). */
    private Buffer[] scratch(int floats) {
        Buffer[] scratch = keyScratch.stream().filter(s -> s[0].floats() == floats).findFirst().orElse(null);
        if (scratch == null) {
            scratch = new Buffer[d];
            for (int i = 0; i < d; i++) scratch[i] = devices.get(i).buffer(floats);
            keyScratch.add(scratch);
        }
        return scratch;
    }

    @Override
    public void enqueue(Buffer queue, Buffer keys, int n, int dim, int kq, int ptr) {
        float[] all = new float[n * dim];
        read(keys, 0, all, 0, all.length);
        Buffer[] scratch = scratch(all.length);
        for (int i = 0; i < d; i++) {
            devices.get(i).write(all, 0, scratch[i], 0, all.length);
            devices.get(i).enqueue(state(queue, i), scratch[i], n, dim, kq, ptr);
        }
    }

    @Override
    public void close() {
        for (Device x : devices) x.close();
    }

    @Override
    public String toString() {
        return "DataParallelDevice" + Arrays.toString(devices.toArray());
    }
}
