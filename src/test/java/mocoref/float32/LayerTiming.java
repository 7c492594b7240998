package mocoref.float32;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import mocoref.cpu.FmaPeak;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetLayout;
import mocoref.registry.Backends;

/**
 * Every operation of the default MoCo step alone, on a float32 device, for the per-layer table
 * against PyTorch ({@code scripts/layers-vs-pytorch.sh}, whose other half is
 * {@code scripts/layers_pytorch.py} with the same rows): each distinct convolution shape (forward,
 * input gradient, weight gradient), each distinct BatchNorm geometry (training forward over 2
 * chunks with the ReLU, backward), the head's Linear layers, the logits over the queue and their
 * backward, the SGD step and the momentum update over all of encoder_q's parameters. Prints one
 * tab-separated row per operation and pass: name, shape, how many the model has, pass, median ms
 * of {@code reps} calls after {@link #WARMUP},
 * flop (0 where counting them says nothing: memory-bound passes). A first line gives the FMA peak
 * of the preferred species on the same threads, measured in the same process. Not a test.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.float32.LayerTiming [backend] [width] [threads] [reps] [batch] [arch]</pre>
 */
public final class LayerTiming {
    private LayerTiming() {}

    /** Untimed calls of each operation before its timed ones (as scripts/layers_pytorch.py). */
    static final int WARMUP = 3;
    /**
     * -Dconv.accumulateDx=true: time the convolutions' data gradient added into dx, as the
     * downsample's is in a residual block's backward, instead of set (as PyTorch's is timed).
     */
    static final boolean ACCUMULATE_DX = Boolean.getBoolean("conv.accumulateDx");
    /**
     * The least untimed time per convolution shape: with {@link #WARMUP} rounds alone, a shape whose
     * paths no earlier shape had run was timed while C2 compiled them on the second core (width 32's
     * 64 -> 128 s2 @14: 14.9 / 20.2 / 17.0 ms against 7-10 after a longer warm-up, twentieth sitting).
     */
    static final double WARMUP_SECONDS = 2;

    /** One operation's median time; {@code count} how often one encoder pass runs it. */
    public record Row(String name, String shape, int count, String pass, double ms, double flop) {
        String tsv() {
            return String.join("\t", name, shape, Integer.toString(count), pass, String.format("%.4f", ms), String.format("%.0f", flop));
        }
    }

    /** A convolution of the layout with its input geometry, and the BatchNorm that follows it. */
    record PlacedConv(String name, Device.ConvShape shape, String norm) {}

    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "cpu";
        int width = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        int batch = args.length > 4 ? Integer.parseInt(args[4]) : 256;
        String arch = args.length > 5 ? args[5] : "resnet18";
        MocoConfig config = StepTiming.defaultConfig(arch, width, batch);
        Float32Backend b = (Float32Backend) Backends.byName(backend, threads);
        Float32MoCo model = (Float32MoCo) b.create(config, mocoref.model.FreshState.of(config, 1), "random init");
        Device d = model.device();
        System.out.printf("# %s, width %d, batch %d, peak %.1f GFLOP/s (%d-bit FMA chains on %d threads)%n", b.describe(), width,
                batch, FmaPeak.gflops(threads, 1 << 22), FloatVector.SPECIES_PREFERRED.vectorBitSize(), threads);
        ResNetLayout layout = ResNetLayout.of(config.model());
        // Untimed rounds of everything first, for 5 s at least: the first rows (the stem) were timed
        // while C2 was still compiling the micro-kernels they share with every other convolution,
        // at 2-5 times their time in a step (docs/performance.md, fourteenth sitting); one round of
        // the narrow widths ends before the compiler threads, which share the cores, are done.
        long warm = System.nanoTime() + 5_000_000_000L;
        do everyOperation(d, layout, config, batch, 1); while (System.nanoTime() < warm);
        for (Row r : everyOperation(d, layout, config, batch, reps)) System.out.println(r.tsv());
    }

    private static List<Row> everyOperation(Device d, ResNetLayout layout, MocoConfig config, int batch, int reps) {
        List<Row> rows = new ArrayList<>();
        rows.addAll(convolutions(d, layout, batch, config.image(), reps));
        rows.addAll(batchNorms(d, layout, batch, config.image(), config.devices(), reps));
        rows.addAll(head(d, layout, batch, reps));
        rows.addAll(logits(d, batch, config.model().dim(), config.K(), reps));
        rows.addAll(optimizer(d, layout, reps));
        return rows;
    }

    /** Every convolution of the layout with its input geometry, in the model's order. */
    static List<PlacedConv> placedConvolutions(ResNetLayout layout, int n, int[] image) {
        List<PlacedConv> convs = new ArrayList<>();
        ResNetLayout.Conv c1 = layout.conv1();
        Device.ConvShape stem = new Device.ConvShape(c1.in(), c1.out(), c1.kernel(), c1.stride(), c1.padding(), n, image[1], image[2]);
        convs.add(new PlacedConv(c1.name(), stem, layout.bn1().name()));
        int h = stem.outH(), w = stem.outW();
        if (layout.maxPool()) {
            h = (h + 2 - 3) / 2 + 1;
            w = (w + 2 - 3) / 2 + 1;
        }
        for (ResNetLayout.Block b : layout.blocks()) {
            int bh = h, bw = w;
            for (int i = 0; i < b.convs().size(); i++) {
                ResNetLayout.Conv c = b.convs().get(i);
                Device.ConvShape s = new Device.ConvShape(c.in(), c.out(), c.kernel(), c.stride(), c.padding(), n, bh, bw);
                convs.add(new PlacedConv(c.name(), s, b.norms().get(i).name()));
                bh = s.outH();
                bw = s.outW();
            }
            if (b.hasDownsample()) {
                ResNetLayout.Conv c = b.downsample();
                convs.add(new PlacedConv(c.name(), new Device.ConvShape(c.in(), c.out(), 1, c.stride(), 0, n, h, w),
                        b.downsampleNorm().name()));
            }
            h = bh;
            w = bw;
        }
        return convs;
    }

    static String describe(Device.ConvShape s) {
        return String.format("%d->%d k%d s%d @%dx%d", s.in(), s.out(), s.kernel(), s.stride(), s.h(), s.w());
    }

    /** Each distinct convolution shape alone on random activations: forward, input gradient (not the stem's), weight gradient. */
    static List<Row> convolutions(Device d, ResNetLayout layout, int n, int[] image, int reps) {
        Map<Device.ConvShape, List<String>> byShape = new LinkedHashMap<>();
        for (PlacedConv c : placedConvolutions(layout, n, image)) byShape.computeIfAbsent(c.shape(), k -> new ArrayList<>()).add(c.name());
        Random rng = new Random(3);
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<Device.ConvShape, List<String>> e : byShape.entrySet()) {
            String name = e.getValue().get(0);
            int count = e.getValue().size();
            String label = "conv " + name + (count > 1 ? " (x" + count + ")" : "");
            rows.addAll(convolution(d, e.getKey(), label, count, name.equals(layout.conv1().name()), reps, rng));
        }
        return rows;
    }

    /**
     * One convolution of shape {@code s} alone on random activations: the medians of {@code reps}
     * forwards, input gradients (not for a stem, whose input needs none) and weight gradients, after
     * {@link #WARMUP} untimed rounds and {@link #WARMUP_SECONDS}. Also what {@code mocoref.cpu.ConvTiming} prints for one shape.
     */
    public static List<Row> convolution(Device d, Device.ConvShape s, String label, int count, boolean stem, int reps, Random rng) {
        ConvRun run = new ConvRun(d, s, rng);
        double[] f = new double[reps], bx = new double[reps], bw = new double[reps];
        // untimed: WARMUP rounds and at least WARMUP_SECONDS, so that C2 has compiled the paths this
        // shape takes first (a compact or residue path no earlier shape ran) before the reps start
        long warmEnd = System.nanoTime() + (long) (WARMUP_SECONDS * 1e9);
        for (int r = 0; r < WARMUP || System.nanoTime() < warmEnd; r++) {
            run.forward();
            if (!stem) run.backwardInput();
            run.backwardWeight();
        }
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            run.forward();
            long t1 = System.nanoTime();
            if (!stem) run.backwardInput();
            long t2 = System.nanoTime();
            run.backwardWeight();
            long t3 = System.nanoTime();
            f[r] = (t1 - t0) / 1e6;
            bx[r] = (t2 - t1) / 1e6;
            bw[r] = (t3 - t2) / 1e6;
        }
        double flop = 2.0 * s.out() * s.in() * s.kernel() * s.kernel() * s.n() * s.outH() * s.outW();
        List<Row> rows = new ArrayList<>();
        rows.add(new Row(label, describe(s), count, "fwd", median(f), flop));
        if (!stem) rows.add(new Row(label, describe(s), count, "dX", median(bx), flop));
        rows.add(new Row(label, describe(s), count, "dW", median(bw), flop));
        return rows;
    }

    /**
     * One convolution of a shape on random activations (weights 0.1 times N(0, 1), the input N(0, 1),
     * from {@code rng} in that order), each pass run alone: what {@link #convolution} times, and
     * {@code mocoref.cpu.AbProbe} for ConvAB. The data gradient is set, or added with {@link #ACCUMULATE_DX}.
     */
    public static final class ConvRun {
        private final Device.Conv2d conv;
        private final Activation x, y, dx;

        public ConvRun(Device d, Device.ConvShape s, Random rng) {
            int n = s.n(), wn = s.out() * s.in() * s.kernel() * s.kernel();
            Buffer wb = d.buffer(wn), gb = d.buffer(wn);
            d.write(randoms(rng, wn, 0.1f), 0, wb, 0, wn);
            conv = d.conv2d(s, new ParamRef(wb, gb, 0, wn));
            x = d.activation(n, s.in(), s.h(), s.w());
            y = d.activation(n, s.out(), s.outH(), s.outW());
            dx = d.activation(n, s.in(), s.h(), s.w());
            d.writeImages(randoms(rng, n * s.in() * s.h() * s.w(), 1f), 0, x);
        }

        public void forward() {
            conv.forward(x, y);
        }

        /** The data gradient of y (the forward's output, as dY). */
        public void backwardInput() {
            conv.backwardInput(y, dx, ACCUMULATE_DX);
        }

        public void backwardWeight() {
            conv.backwardWeight(y, x);
        }
    }

    /** Each distinct BatchNorm geometry (channels x h x w): training forward over {@code groups} chunks with the fused ReLU, and its backward. */
    static List<Row> batchNorms(Device d, ResNetLayout layout, int n, int[] image, int groups, int reps) {
        Map<List<Integer>, List<String>> byGeometry = new LinkedHashMap<>();
        for (PlacedConv c : placedConvolutions(layout, n, image)) {
            byGeometry.computeIfAbsent(List.of(c.shape().out(), c.shape().outH(), c.shape().outW()), k -> new ArrayList<>()).add(c.norm());
        }
        Random rng = new Random(4);
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<List<Integer>, List<String>> e : byGeometry.entrySet()) {
            int c = e.getKey().get(0), h = e.getKey().get(1), w = e.getKey().get(2);
            Buffer params = d.buffer(2L * c), grads = d.buffer(2L * c), stats = d.buffer(2L * c);
            d.fill(params, 0, c, 1f);
            d.fill(stats, c, c, 1f);
            Device.BatchNorm2d bn = d.batchNorm2d(c, n, h, w, groups, new ParamRef(params, grads, 0, c),
                    new ParamRef(params, grads, c, c), stats, 0, c);
            Activation x = d.activation(n, c, h, w), y = d.activation(n, c, h, w), dy = d.activation(n, c, h, w);
            Activation dz = d.activation(n, c, h, w), dx = d.activation(n, c, h, w);
            d.writeImages(randoms(rng, n * c * h * w, 1f), 0, x);
            d.writeImages(randoms(rng, n * c * h * w, 1f), 0, dy);
            double[] f = new double[reps], bw = new double[reps];
            for (int r = -WARMUP; r < reps; r++) {
                long t0 = System.nanoTime();
                bn.forwardTrain(x, null, true, y, groups);
                long t1 = System.nanoTime();
                bn.backward(dy, y, x, dz, dx);
                long t2 = System.nanoTime();
                if (r < 0) continue;
                f[r] = (t1 - t0) / 1e6;
                bw[r] = (t2 - t1) / 1e6;
            }
            String label = "bn+relu " + e.getValue().get(0) + (e.getValue().size() > 1 ? " (x" + e.getValue().size() + ")" : "");
            String shape = c + "x" + h + "x" + w + ", " + groups + " chunks";
            rows.add(new Row(label, shape, e.getValue().size(), "fwd", median(f), 0));
            rows.add(new Row(label, shape, e.getValue().size(), "bwd", median(bw), 0));
        }
        return rows;
    }

    /** The head's Linear layers (with bias), forward and backward (weight, bias and input gradients). */
    static List<Row> head(Device d, ResNetLayout layout, int n, int reps) {
        Random rng = new Random(5);
        List<Row> rows = new ArrayList<>();
        for (ResNetLayout.Linear l : layout.head()) {
            int wn = l.in() * l.out();
            Buffer wb = d.buffer(wn + l.out()), gb = d.buffer(wn + l.out());
            d.write(randoms(rng, wn, 0.1f), 0, wb, 0, wn);
            Device.Linear lin = d.linear(l.in(), l.out(), n, new ParamRef(wb, gb, 0, wn), new ParamRef(wb, gb, wn, l.out()));
            Buffer x = d.buffer((long) n * l.in()), y = d.buffer((long) n * l.out()), dx = d.buffer((long) n * l.in());
            d.write(randoms(rng, n * l.in(), 1f), 0, x, 0, n * l.in());
            double[] f = new double[reps], bw = new double[reps];
            for (int r = -WARMUP; r < reps; r++) {
                long t0 = System.nanoTime();
                lin.forward(x, y, n);
                long t1 = System.nanoTime();
                lin.backward(y, x, dx, n);
                long t2 = System.nanoTime();
                if (r < 0) continue;
                f[r] = (t1 - t0) / 1e6;
                bw[r] = (t2 - t1) / 1e6;
            }
            double flop = 2.0 * n * l.in() * l.out();
            String shape = n + "x" + l.in() + " -> " + l.out();
            rows.add(new Row("linear " + l.name(), shape, 1, "fwd", median(f), flop));
            rows.add(new Row("linear " + l.name(), shape, 1, "bwd", median(bw), 2 * flop));
        }
        return rows;
    }

    /** The logits over the queue, [n, dim] x [dim, K] (and the positives), and their backward into q. */
    static List<Row> logits(Device d, int n, int dim, int k, int reps) {
        Random rng = new Random(6);
        Buffer q = d.buffer((long) n * dim), key = d.buffer((long) n * dim), queue = d.buffer((long) dim * k);
        Buffer logits = d.buffer((long) n * (k + 1)), dq = d.buffer((long) n * dim);
        d.write(randoms(rng, n * dim, 0.1f), 0, q, 0, n * dim);
        d.write(randoms(rng, n * dim, 0.1f), 0, key, 0, n * dim);
        d.write(randoms(rng, dim * k, 0.1f), 0, queue, 0, dim * k);
        double[] f = new double[reps], bw = new double[reps];
        for (int r = -WARMUP; r < reps; r++) {
            long t0 = System.nanoTime();
            d.contrastiveLogits(q, key, queue, n, dim, k, 0.2, logits);
            long t1 = System.nanoTime();
            d.contrastiveLogitsBackward(logits, key, queue, n, dim, k, 0.2, dq);
            long t2 = System.nanoTime();
            if (r < 0) continue;
            f[r] = (t1 - t0) / 1e6;
            bw[r] = (t2 - t1) / 1e6;
        }
        double flop = 2.0 * n * dim * (k + 1);
        String shape = n + "x" + dim + " x " + dim + "x" + k;
        return List.of(new Row("logits (queue)", shape, 1, "fwd", median(f), flop), new Row("logits (queue)", shape, 1, "bwd", median(bw), flop));
    }

    /** PyTorch's SGD step (momentum, weight decay) and builder.py's momentum update over all of encoder_q's parameters. */
    static List<Row> optimizer(Device d, ResNetLayout layout, int reps) {
        long p = layout.parameters().stream().mapToLong(ResNetLayout.Param::size).sum();
        Buffer theta = d.buffer(p), grad = d.buffer(p), buf = d.buffer(p), key = d.buffer(p);
        d.fill(grad, 0, p, 1e-3f);
        double[] s = new double[reps], m = new double[reps];
        for (int r = -WARMUP; r < reps; r++) {
            long t0 = System.nanoTime();
            d.sgd(theta, grad, buf, 0, p, 0.03, 0.9, 1e-4, false);
            long t1 = System.nanoTime();
            d.momentumUpdate(key, theta, p, 0.99);
            long t2 = System.nanoTime();
            if (r < 0) continue;
            s[r] = (t1 - t0) / 1e6;
            m[r] = (t2 - t1) / 1e6;
        }
        return List.of(new Row("sgd step", p + " parameters", 1, "step", median(s), 0),
                new Row("momentum update", p + " parameters", 1, "step", median(m), 0));
    }

    private static float[] randoms(Random rng, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian() * scale;
        return v;
    }

    public static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
