package mocoref.opencl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import mocoref.cpu.CpuDevice;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/**
 * Every OpenCL kernel paired with its Java twin: the {@link CpuDevice} operation that computes the
 * same thing. A twin drives one device operation on an {@link OpenClDevice} and on a CpuDevice with
 * the same random inputs and shapes (odd sizes that no work-group or vector width divides) and
 * compares every output elementwise within {@code |a - b| <= 1e-5 + 1e-4 |cpu|}; it must launch each
 * kernel {@link #KERNELS} assigns to it. {@code KernelTwinTest} runs every twin on several random
 * rounds and checks that the kernels of {@code tornado-kernels/*.cl} are exactly those listed here;
 * {@code moco-ref devices} runs each once as a self-test. (The float64 reference layers are the
 * other side of {@code DeviceTwinTest}, which runs on every registered device.)
 */
public final class KernelTwins {
    public static final double ATOL = 1e-5, RTOL = 1e-4;

    /** Twin name -> the kernels it launches and checks, in tornado-kernels order. */
    public static final Map<String, List<String>> KERNELS = new LinkedHashMap<>();

    static {
        KERNELS.put("fill", List.of("fill"));
        KERNELS.put("add", List.of("add"));
        KERNELS.put("linear", List.of("gemm", "bias_grad"));
        KERNELS.put("contrastive logits", List.of("sum_partials", "positive_logits", "positive_logits_backward"));
        KERNELS.put("conv forward, tiled", List.of("conv2d_forward"));
        KERNELS.put("conv backward input, tiled", List.of("conv2d_backward_input"));
        KERNELS.put("conv backward weight, tiled", List.of("conv2d_backward_weight"));
        KERNELS.put("conv forward, vector", List.of("im2col", "gemm_vec16"));
        KERNELS.put("conv backward input, vector", List.of("col2im"));
        KERNELS.put("conv backward weight, vector", List.of("im2col_t", "conv2d_weight_grad_vec"));
        KERNELS.put("batchnorm train", List.of("bn_stats", "bn_forward_train"));
        KERNELS.put("batchnorm eval", List.of("bn_forward_eval"));
        KERNELS.put("batchnorm backward", List.of("bn_backward_reduce", "bn_backward_params", "bn_backward_input"));
        KERNELS.put("max pool", List.of("maxpool_forward", "maxpool_backward"));
        KERNELS.put("global average pool", List.of("avgpool_forward", "avgpool_backward"));
        KERNELS.put("relu", List.of("relu", "relu_backward"));
        KERNELS.put("l2 normalize", List.of("l2_normalize", "l2_normalize_backward"));
        KERNELS.put("batch shuffle", List.of("shuffle_images", "unshuffle_rows"));
        KERNELS.put("cross-entropy", List.of("cross_entropy"));
        KERNELS.put("momentum update", List.of("momentum_update"));
        KERNELS.put("sgd", List.of("sgd"));
        KERNELS.put("enqueue", List.of("enqueue_keys"));
        KERNELS.put("batch logits", List.of("batch_logits", "batch_logits_backward"));
        KERNELS.put("gather and scatter rows", List.of("gather_rows", "gather_columns", "scatter_rows"));
    }

    private KernelTwins() {}

    /** The twin of every kernel. */
    public static Map<String, String> twinOf() {
        Map<String, String> m = new TreeMap<>();
        KERNELS.forEach((twin, kernels) -> kernels.forEach(k -> m.put(k, twin)));
        return m;
    }

    /** A kernel's output that differs from its twin's beyond the tolerance. */
    public static final class Mismatch extends RuntimeException {
        Mismatch(String message) {
            super(message);
        }
    }

    /** One run of one twin: its worst error as a fraction of the tolerance, and the kernels it launched. */
    public record Result(String twin, String shapes, double worst, Map<String, Long> launched) {}

    /**
     * Runs twin {@code twin} once on {@code target} against {@code cpu}, with shapes and values drawn
     * from {@code rng} ({@code round} 0 takes fixed shapes that exercise every branch: split sums,
     * strides, padding). Throws {@link Mismatch} on the first element outside the tolerance.
     */
    public static Result run(String twin, ClRuntime.Target target, CpuDevice cpu, Random rng, int round) {
        OpenClDevice.ConvPath path = twin.endsWith("vector") ? OpenClDevice.ConvPath.VECTOR : OpenClDevice.ConvPath.TILED;
        try (OpenClDevice cl = new OpenClDevice(target, path)) {
            Run r = new Run(cl, cpu, rng, round);
            switch (twin) {
                case "fill" -> r.fill();
                case "add" -> r.add();
                case "linear" -> r.linear();
                case "contrastive logits" -> r.contrastiveLogits();
                case "conv forward, tiled", "conv forward, vector" -> r.conv(0);
                case "conv backward input, tiled", "conv backward input, vector" -> r.conv(1);
                case "conv backward weight, tiled", "conv backward weight, vector" -> r.conv(2);
                case "batchnorm train" -> r.batchNorm(0);
                case "batchnorm eval" -> r.batchNorm(1);
                case "batchnorm backward" -> r.batchNorm(2);
                case "max pool" -> r.maxPool();
                case "global average pool" -> r.avgPool();
                case "relu" -> r.relu();
                case "l2 normalize" -> r.normalize();
                case "batch shuffle" -> r.shuffle();
                case "cross-entropy" -> r.crossEntropy();
                case "momentum update" -> r.momentum();
                case "sgd" -> r.sgd();
                case "enqueue" -> r.enqueue();
                case "batch logits" -> r.batchLogits();
                case "gather and scatter rows" -> r.gatherScatter();
                default -> throw new IllegalArgumentException("no twin " + twin);
            }
            cl.finish();
            return new Result(twin, String.join(" ", r.shapes), r.worst, cl.launches());
        }
    }

    /** A device's self-test: every twin once (round 0), its worst error as a fraction of the tolerance, or why it failed. */
    public record SelfTest(boolean passed, int kernels, double worst, String failure, double seconds) {}

    /** Runs every twin once on {@code target} against a one-thread cpu device (moco-ref devices). */
    public static SelfTest selfTest(ClRuntime.Target target) {
        long t0 = System.nanoTime();
        java.util.Set<String> launched = new java.util.TreeSet<>();
        double worst = 0;
        try (CpuDevice cpu = new CpuDevice(1)) {
            Random rng = new Random(1);
            for (String twin : KERNELS.keySet()) {
                Result r = run(twin, target, cpu, rng, 0);
                worst = Math.max(worst, r.worst());
                r.launched().forEach((k, n) -> {
                    if (n > 0) launched.add(k);
                });
            }
        } catch (RuntimeException e) {
            return new SelfTest(false, launched.size(), worst, e.getClass().getSimpleName() + ": " + e.getMessage(), (System.nanoTime() - t0) / 1e9);
        }
        java.util.Set<String> missing = new java.util.TreeSet<>(twinOf().keySet());
        missing.removeAll(launched);
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (!missing.isEmpty()) return new SelfTest(false, launched.size(), worst, "kernels the self-test did not run: " + missing, seconds);
        return new SelfTest(true, launched.size(), worst, null, seconds);
    }

    /** The two devices of one twin run, the random source and the comparison. */
    private static final class Run {
        final OpenClDevice cl;
        final CpuDevice cpu;
        final Random rng;
        final int round;
        final List<String> shapes = new ArrayList<>();
        double worst;

        Run(OpenClDevice cl, CpuDevice cpu, Random rng, int round) {
            this.cl = cl;
            this.cpu = cpu;
            this.rng = rng;
            this.round = round;
        }

        int between(int lo, int hi) {
            return lo + rng.nextInt(hi - lo + 1);
        }

        float[] random(int n) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
            return x;
        }

        void compare(String what, float[] expected, float[] actual) {
            if (expected.length != actual.length) throw new Mismatch(what + ": " + actual.length + " values, the twin has " + expected.length);
            for (int i = 0; i < expected.length; i++) {
                double err = Math.abs((double) actual[i] - expected[i]), tol = ATOL + RTOL * Math.abs(expected[i]);
                if (!(err <= tol)) {
                    throw new Mismatch(what + " " + shapes + ": at " + i + " the kernel gives " + actual[i] + ", its twin " + expected[i]);
                }
                worst = Math.max(worst, err / tol);
            }
        }

        /** The same values in a buffer of each device. */
        Buffer[] buffers(float[] v) {
            Buffer a = cl.buffer(v.length), b = cpu.buffer(v.length);
            cl.write(v, 0, a, 0, v.length);
            cpu.write(v, 0, b, 0, v.length);
            return new Buffer[] {a, b};
        }

        Activation[] activations(float[] v, int n, int c, int h, int w) {
            Activation a = cl.activation(n, c, h, w), b = cpu.activation(n, c, h, w);
            cl.writeImages(v, 0, a);
            cpu.writeImages(v, 0, b);
            return new Activation[] {a, b};
        }

        Activation[] activations(int n, int c, int h, int w) {
            return new Activation[] {cl.activation(n, c, h, w), cpu.activation(n, c, h, w)};
        }

        float[][] read(Buffer[] b, long offset, int n) {
            float[] x = new float[n], y = new float[n];
            cl.read(b[0], offset, x, 0, n);
            cpu.read(b[1], offset, y, 0, n);
            return new float[][] {x, y};
        }

        void compare(String what, Buffer[] b, long offset, int n) {
            float[][] r = read(b, offset, n);
            compare(what, r[1], r[0]);
        }

        void compare(String what, Activation[] a) {
            compare(what, cpu.readActivation(a[1]), cl.readActivation(a[0]));
        }

        void fill() {
            int n = between(1, 300), off = between(0, 7);
            shapes.add("n=" + n);
            Buffer[] b = buffers(random(n + off + 3));
            cl.fill(b[0], off, n, 1.5f);
            cpu.fill(b[1], off, n, 1.5f);
            compare("fill", b, 0, n + off + 3);
        }

        void add() {
            int n = between(1, 4), c = between(1, 9), h = between(1, 11), w = between(1, 11);
            shapes.add("[" + n + "," + c + "," + h + "," + w + "]");
            Activation[] a = activations(random(n * c * h * w), n, c, h, w), b = activations(random(n * c * h * w), n, c, h, w);
            cl.add(a[0], b[0]);
            cpu.add(a[1], b[1]);
            compare("add", b);
        }

        void linear() {
            int rows = round == 0 ? 37 : between(1, 70), in = round == 0 ? 200 : between(1, 90), out = round == 0 ? 70 : between(1, 80);
            shapes.add("rows=" + rows + " in=" + in + " out=" + out);
            Buffer[] p = buffers(random(out * in + out));
            Buffer[] g = buffers(random(out * in + out));
            ParamRef[] w = {new ParamRef(p[0], g[0], 0, out * in), new ParamRef(p[1], g[1], 0, out * in)};
            ParamRef[] bias = {new ParamRef(p[0], g[0], out * in, out), new ParamRef(p[1], g[1], out * in, out)};
            Device.Linear a = cl.linear(in, out, rows, w[0], bias[0]), b = cpu.linear(in, out, rows, w[1], bias[1]);
            Buffer[] x = buffers(random(rows * in)), y = buffers(new float[rows * out]);
            a.forward(x[0], y[0], rows);
            b.forward(x[1], y[1], rows);
            compare("linear forward", y, 0, rows * out);
            Buffer[] dy = buffers(random(rows * out)), dx = buffers(new float[rows * in]);
            a.backward(dy[0], x[0], dx[0], rows);
            b.backward(dy[1], x[1], dx[1], rows);
            compare("linear backward input", dx, 0, rows * in);
            compare("linear backward weight and bias (added to the gradient)", g, 0, out * in + out);
        }

        /** [rows, cols] with unit rows (transposed: unit columns), as q, k and the queue are in a step. */
        float[] unitRows(int rows, int cols, boolean transposed) {
            float[] x = random(rows * cols), out = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                double sq = 0;
                for (int c = 0; c < cols; c++) sq += (double) x[r * cols + c] * x[r * cols + c];
                for (int c = 0; c < cols; c++) out[transposed ? c * rows + r : r * cols + c] = (float) (x[r * cols + c] / Math.sqrt(sq));
            }
            return out;
        }

        /**
         * Inputs as a step has them (unit q, k and queue columns; dLogits a softmax's gradient, mean over
         * n): random values of order one would make the products cancel to far below their terms.
         */
        void contrastiveLogits() {
            int n = round == 0 ? 7 : between(1, 40), dim = round == 0 ? 13 : between(1, 70), kq = round == 0 ? 300 : between(1, 700);
            double t = 0.05 + 0.2 * rng.nextDouble();
            shapes.add("n=" + n + " dim=" + dim + " K=" + kq);
            Buffer[] q = buffers(unitRows(n, dim, false)), k = buffers(unitRows(n, dim, false)), queue = buffers(unitRows(kq, dim, true));
            Buffer[] logits = buffers(new float[n * (1 + kq)]);
            cl.contrastiveLogits(q[0], k[0], queue[0], n, dim, kq, t, logits[0]);
            cpu.contrastiveLogits(q[1], k[1], queue[1], n, dim, kq, t, logits[1]);
            compare("contrastive logits", logits, 0, n * (1 + kq));
            float[] d = new float[n * (1 + kq)];
            for (int r = 0; r < n; r++) {
                double sum = 0;
                double[] e = new double[1 + kq];
                for (int j = 0; j <= kq; j++) sum += e[j] = Math.exp(2 * rng.nextGaussian());
                for (int j = 0; j <= kq; j++) d[r * (1 + kq) + j] = (float) ((e[j] / sum - (j == 0 ? 1 : 0)) / n);
            }
            Buffer[] dl = buffers(d), dq = buffers(new float[n * dim]);
            cl.contrastiveLogitsBackward(dl[0], k[0], queue[0], n, dim, kq, t, dq[0]);
            cpu.contrastiveLogitsBackward(dl[1], k[1], queue[1], n, dim, kq, t, dq[1]);
            compare("contrastive logits backward", dq, 0, n * dim);
        }

        /** part 0: forward, 1: input gradient (set, then accumulated), 2: weight gradient (added). */
        void conv(int part) {
            int in, out, k, stride, pad, n, h, w;
            if (round == 0) { // a weight gradient long enough to split, a stride, padding
                in = 3; out = 5; k = 3; stride = part == 1 ? 2 : 1; pad = 1; n = 4; h = 12; w = 11;
            } else {
                k = new int[] {1, 3, 3, 7}[rng.nextInt(4)];
                stride = k == 7 ? 2 : between(1, 2); // the geometries of a ResNet (the cpu device takes no others)
                pad = k / 2;
                in = between(1, 20);
                out = between(1, 40);
                n = between(1, 5);
                h = between(Math.max(1, k - 2 * pad), 17);
                w = between(Math.max(1, k - 2 * pad), 17);
            }
            Device.ConvShape s = new Device.ConvShape(in, out, k, stride, pad, n, h, w);
            shapes.add(s.toString());
            int size = out * in * k * k;
            Buffer[] p = buffers(random(size)), g = buffers(random(size));
            Device.Conv2d a = cl.conv2d(s, new ParamRef(p[0], g[0], 0, size)), b = cpu.conv2d(s, new ParamRef(p[1], g[1], 0, size));
            Activation[] x = activations(random(n * in * h * w), n, in, h, w);
            Activation[] dy = activations(random(n * out * s.outH() * s.outW()), n, out, s.outH(), s.outW());
            switch (part) {
                case 0 -> {
                    Activation[] y = activations(n, out, s.outH(), s.outW());
                    a.forward(x[0], y[0]);
                    b.forward(x[1], y[1]);
                    compare("conv forward", y);
                }
                case 1 -> {
                    Activation[] dx = activations(n, in, h, w);
                    a.backwardInput(dy[0], dx[0], false);
                    b.backwardInput(dy[1], dx[1], false);
                    compare("conv backward input", dx);
                    a.backwardInput(dy[0], dx[0], true);
                    b.backwardInput(dy[1], dx[1], true);
                    compare("conv backward input, accumulated", dx);
                }
                default -> {
                    a.backwardWeight(dy[0], x[0]);
                    b.backwardWeight(dy[1], x[1]);
                    compare("conv backward weight (added to the gradient)", g, 0, size);
                }
            }
        }

        /** part 0: training forward (fused residual and ReLU) and running statistics; 1: eval; 2: backward. */
        void batchNorm(int part) {
            int groups = between(1, 3), per = between(1, 3), n = groups * per, c = between(1, 12), h = between(1, 9), w = between(1, 9);
            if (round == 0) { // a chunk larger than a work-group, its mean far from zero
                groups = 2; n = 6; c = 3; h = 13; w = 11;
            }
            boolean relu = rng.nextBoolean() || round == 0, residual = rng.nextBoolean() || round == 0;
            shapes.add("[" + n + "," + c + "," + h + "," + w + "] groups=" + groups + (relu ? " relu" : "") + (residual ? " residual" : ""));
            float[] params = new float[2 * c], stats = new float[2 * c];
            for (int i = 0; i < c; i++) {
                params[i] = (float) (1 + 0.3 * rng.nextGaussian());
                params[c + i] = (float) (0.3 * rng.nextGaussian());
                stats[i] = (float) (0.1 * rng.nextGaussian());
                stats[c + i] = (float) (0.5 + rng.nextDouble());
            }
            Buffer[] p = buffers(params), g = buffers(random(2 * c)), running = buffers(stats);
            Device.BatchNorm2d a = cl.batchNorm2d(c, n, h, w, groups, new ParamRef(p[0], g[0], 0, c), new ParamRef(p[0], g[0], c, c),
                    running[0], 0, c);
            Device.BatchNorm2d b = cpu.batchNorm2d(c, n, h, w, groups, new ParamRef(p[1], g[1], 0, c), new ParamRef(p[1], g[1], c, c),
                    running[1], 0, c);
            float[] xv = random(n * c * h * w);
            float mean = round == 0 ? 40 : 3;
            for (int i = 0; i < xv.length; i++) xv[i] = mean + 2 * xv[i];
            Activation[] x = activations(xv, n, c, h, w), res = residual ? activations(random(xv.length), n, c, h, w) : null;
            Activation[] y = activations(n, c, h, w);
            if (part == 1) {
                a.forwardEval(x[0], res == null ? null : res[0], relu, y[0]);
                b.forwardEval(x[1], res == null ? null : res[1], relu, y[1]);
                compare("batchnorm eval forward", y);
                return;
            }
            a.forwardTrain(x[0], res == null ? null : res[0], relu, y[0], groups);
            b.forwardTrain(x[1], res == null ? null : res[1], relu, y[1], groups);
            if (part == 0) {
                compare("batchnorm training forward", y);
                compare("batchnorm running statistics", running, 0, 2 * c);
                return;
            }
            Activation[] dy = activations(random(xv.length), n, c, h, w), dz = activations(n, c, h, w), dx = activations(n, c, h, w);
            a.backward(dy[0], relu ? y[0] : null, x[0], dz[0], dx[0]);
            b.backward(dy[1], relu ? y[1] : null, x[1], dz[1], dx[1]);
            compare("batchnorm backward dz", dz);
            compare("batchnorm backward input", dx);
            compare("batchnorm backward gamma and beta (added to the gradient)", g, 0, 2 * c);
        }

        void maxPool() {
            int n = between(1, 3), c = between(1, 7), h = between(3, 15), w = between(3, 15);
            shapes.add("[" + n + "," + c + "," + h + "," + w + "] 3x3 stride 2 padding 1");
            Device.MaxPool2d a = cl.maxPool2d(c, n, h, w, 3, 2, 1), b = cpu.maxPool2d(c, n, h, w, 3, 2, 1);
            float[] xv = random(n * c * h * w);
            for (int i = 0; i < xv.length; i += 3) xv[i] = 0.5f; // ties: the first in row-major order wins
            Activation[] x = activations(xv, n, c, h, w), y = activations(n, c, a.outH(), a.outW());
            a.forward(x[0], y[0]);
            b.forward(x[1], y[1]);
            compare("max pool forward", y);
            Activation[] dy = activations(random(n * c * a.outH() * a.outW()), n, c, a.outH(), a.outW()), dx = activations(n, c, h, w);
            a.backward(dy[0], dx[0]);
            b.backward(dy[1], dx[1]);
            compare("max pool backward", dx);
        }

        void avgPool() {
            int n = between(1, 5), c = between(1, 20), h = between(1, 9), w = between(1, 9);
            shapes.add("[" + n + "," + c + "," + h + "," + w + "]");
            Device.GlobalAvgPool a = cl.globalAvgPool(c, n, h, w), b = cpu.globalAvgPool(c, n, h, w);
            Activation[] x = activations(random(n * c * h * w), n, c, h, w);
            Buffer[] y = buffers(new float[n * c]);
            a.forward(x[0], y[0]);
            b.forward(x[1], y[1]);
            compare("global average pool forward", y, 0, n * c);
            Buffer[] dy = buffers(random(n * c));
            Activation[] dx = activations(n, c, h, w);
            a.backward(dy[0], dx[0]);
            b.backward(dy[1], dx[1]);
            compare("global average pool backward", dx);
        }

        void relu() {
            int n = between(1, 500);
            shapes.add("n=" + n);
            Buffer[] x = buffers(random(n)), y = buffers(new float[n]), d = buffers(random(n));
            cl.relu(x[0], y[0], n);
            cpu.relu(x[1], y[1], n);
            compare("relu", y, 0, n);
            cl.reluBackward(d[0], y[0], d[0], n);
            cpu.reluBackward(d[1], y[1], d[1], n);
            compare("relu backward", d, 0, n);
        }

        void normalize() {
            int rows = between(2, 30), cols = between(1, 150);
            shapes.add("[" + rows + "," + cols + "]");
            float[] xv = random(rows * cols);
            for (int i = 0; i < cols; i++) xv[i] = 0; // a zero row: the norm is clamped to eps
            Buffer[] x = buffers(xv), y = buffers(new float[rows * cols]), norm = buffers(new float[rows]);
            cl.l2Normalize(x[0], y[0], norm[0], rows, cols);
            cpu.l2Normalize(x[1], y[1], norm[1], rows, cols);
            compare("normalize", y, 0, rows * cols);
            compare("normalize's norms", norm, 0, rows);
            Buffer[] dy = buffers(random(rows * cols)), dx = buffers(new float[rows * cols]);
            cl.l2NormalizeBackward(dy[0], y[0], norm[0], dx[0], rows, cols);
            cpu.l2NormalizeBackward(dy[1], y[1], norm[1], dx[1], rows, cols);
            compare("normalize backward", dx, 0, rows * cols);
        }

        int[] permutation(int n) {
            int[] p = new int[n];
            for (int i = 0; i < n; i++) p[i] = i;
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1), t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            return p;
        }

        void shuffle() {
            int n = between(1, 12), c = between(1, 4), h = between(1, 9), w = between(1, 9), cols = between(1, 40);
            shapes.add("[" + n + "," + c + "," + h + "," + w + "] rows of " + cols);
            int[] order = permutation(n);
            Activation[] x = activations(random(n * c * h * w), n, c, h, w), y = activations(n, c, h, w);
            cl.shuffleRows(x[0], order, y[0]);
            cpu.shuffleRows(x[1], order, y[1]);
            compare("batch shuffle", y);
            Buffer[] k = buffers(random(n * cols)), u = buffers(new float[n * cols]);
            cl.unshuffleRows(k[0], order, u[0], n, cols);
            cpu.unshuffleRows(k[1], order, u[1], n, cols);
            compare("batch unshuffle", u, 0, n * cols);
        }

        void crossEntropy() {
            int rows = between(1, 9), cols = round == 0 ? 1000 : between(1, 600), meanOver = rows * between(1, 3);
            shapes.add("[" + rows + "," + cols + "] mean over " + meanOver);
            float[] l = random(rows * cols);
            for (int i = 0; i < l.length; i++) l[i] *= 5;
            if (rows > 1 && cols > 3) l[cols + 3] = l[cols] = 30; // row 1: the positive ties: no hit
            Buffer[] logits = buffers(l), d = buffers(new float[rows * cols]), out = buffers(new float[2 * rows]);
            cl.crossEntropy(logits[0], rows, cols, meanOver, d[0], out[0]);
            cpu.crossEntropy(logits[1], rows, cols, meanOver, d[1], out[1]);
            compare("cross-entropy loss and hits", out, 0, 2 * rows);
            compare("cross-entropy gradient", d, 0, rows * cols);
        }

        void momentum() {
            int n = between(1, 900);
            double m = 0.9 + 0.099 * rng.nextDouble();
            shapes.add("n=" + n + " m=" + m);
            Buffer[] k = buffers(random(n)), q = buffers(random(n));
            cl.momentumUpdate(k[0], q[0], n, m);
            cpu.momentumUpdate(k[1], q[1], n, m);
            compare("momentum update", k, 0, n);
        }

        void sgd() {
            int n = between(1, 900), off = between(0, 9);
            shapes.add("n=" + n + " offset=" + off);
            Buffer[] theta = buffers(random(n + 2 * off)), grad = buffers(random(n + 2 * off)), buf = buffers(random(n + 2 * off));
            for (boolean first : new boolean[] {true, false}) {
                cl.sgd(theta[0], grad[0], buf[0], off, n, 0.1, 0.9, 5e-4, first);
                cpu.sgd(theta[1], grad[1], buf[1], off, n, 0.1, 0.9, 5e-4, first);
                compare("sgd parameters" + (first ? ", first step" : ""), theta, 0, n + 2 * off);
                compare("sgd momentum buffer" + (first ? ", first step" : ""), buf, 0, n + 2 * off);
            }
        }

        void batchLogits() {
            int n = between(1, 40), dim = between(1, 70);
            double t = 0.05 + 0.2 * rng.nextDouble();
            shapes.add("n=" + n + " dim=" + dim);
            Buffer[] qk = buffers(unitRows(2 * n, dim, false)), logits = buffers(new float[n * n]);
            cl.batchLogits(qk[0], n, dim, t, logits[0]);
            cpu.batchLogits(qk[1], n, dim, t, logits[1]);
            compare("batch logits", logits, 0, n * n);
            float[] d = new float[n * n];
            for (int i = 0; i < d.length; i++) d[i] = (float) (rng.nextDouble() / (n * n));
            Buffer[] dl = buffers(d), dqk = buffers(new float[2 * n * dim]);
            cl.batchLogitsBackward(dl[0], qk[0], n, dim, t, dqk[0]);
            cpu.batchLogitsBackward(dl[1], qk[1], n, dim, t, dqk[1]);
            compare("batch logits backward", dqk, 0, 2 * n * dim);
        }

        void gatherScatter() {
            int rows = between(2, 60), cols = between(1, 30), n = between(1, rows), k = between(1, 90);
            shapes.add("table [" + rows + "," + cols + "] n=" + n + " k=" + k);
            Buffer[] table = buffers(random(rows * cols)), out = buffers(new float[n * cols]), columns = buffers(new float[k * cols]);
            int[] distinct = permutation(rows), pick = java.util.Arrays.copyOf(distinct, n), draws = new int[k];
            for (int j = 0; j < k; j++) draws[j] = rng.nextInt(rows); // with replacement
            cl.gatherRows(table[0], cols, pick, out[0]);
            cpu.gatherRows(table[1], cols, pick, out[1]);
            compare("gather rows", out, 0, n * cols);
            cl.gatherColumns(table[0], cols, draws, columns[0]);
            cpu.gatherColumns(table[1], cols, draws, columns[1]);
            compare("gather columns", columns, 0, k * cols);
            Buffer[] src = buffers(random(n * cols));
            cl.scatterRows(src[0], cols, pick, table[0]);
            cpu.scatterRows(src[1], cols, pick, table[1]);
            compare("scatter rows", table, 0, rows * cols);
        }

        void enqueue() {
            int n = between(1, 9), dim = between(1, 20), kq = n * between(1, 5), ptr = n * rng.nextInt(kq / n);
            shapes.add("n=" + n + " dim=" + dim + " K=" + kq + " ptr=" + ptr);
            Buffer[] queue = buffers(random(dim * kq)), keys = buffers(random(n * dim));
            cl.enqueue(queue[0], keys[0], n, dim, kq, ptr);
            cpu.enqueue(queue[1], keys[1], n, dim, kq, ptr);
            compare("enqueue", queue, 0, dim * kq);
        }
    }
}
