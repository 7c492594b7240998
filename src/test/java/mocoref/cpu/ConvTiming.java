package mocoref.cpu;

import java.util.Random;
import mocoref.device.Device;
import mocoref.float32.LayerTiming;

/**
 * One convolution of any shape alone on the cpu device ({@link LayerTiming#convolution}: median
 * forward, data-gradient and weight-gradient times, GFLOP/s with padding positions not counted).
 * For quick comparisons of kernel changes on a single layer (docs/performance.md, "third
 * sitting"); run two builds alternately, this machine's speed drifts.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.cpu.ConvTiming in out k stride size batch threads reps</pre>
 *
 * <p>It builds the layer once and warms that one up: its warm-up used to build the layer again and
 * again for 3 s, the constructor got hot, and C2 compiling it (over a second) on the second core
 * while the reps ran put some JVMs' timings at one core's speed (docs/performance.md, twentieth
 * sitting). {@code '-XX:CompileCommand=exclude,mocoref.cpu.CpuConv2d::<init>'} keeps the
 * constructor interpreted, to be sure.
 */
public final class ConvTiming {
    private ConvTiming() {}

    public static void main(String[] a) {
        int in = Integer.parseInt(a[0]), out = Integer.parseInt(a[1]), k = Integer.parseInt(a[2]), s = Integer.parseInt(a[3]);
        int size = Integer.parseInt(a[4]), n = Integer.parseInt(a[5]), threads = Integer.parseInt(a[6]), reps = Integer.parseInt(a[7]);
        Device.ConvShape shape = new Device.ConvShape(in, out, k, s, k / 2, n, size, size);
        StringBuilder line = new StringBuilder(String.format("%d->%d k%d s%d @%d n%d t%d:", in, out, k, s, size, n, threads));
        // -Dwinograd.from=N: 3x3 stride-1 convolutions by Winograd from N channels on (1: always; 2147483647: never);
        // -Dconv.accumulateDx=true: the data gradient added into dx (as a downsample's is), not set
        CpuDevice device = CpuDevice.withWinogradFrom(threads, Integer.getInteger("winograd.from", CpuConv2d.winogradFrom(Kernels.INSTANCE)));
        // LayerTiming runs the layer untimed for 2 s first (C2 compiles the kernels and the paths meanwhile)
        for (LayerTiming.Row r : LayerTiming.convolution(device, shape, "conv", 1, false, reps, new Random(1))) {
            line.append(String.format("  %s %.2f ms %.0f GFLOP/s", r.pass(), r.ms(), r.flop() / r.ms() / 1e6));
        }
        System.out.println(line);
    }
}
