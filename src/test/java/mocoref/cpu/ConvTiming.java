package mocoref.cpu;

import java.util.Arrays;
import java.util.Random;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/**
 * One convolution of any shape alone on the cpu device: median forward, data-gradient and
 * weight-gradient times and GFLOP/s (padding positions not counted), after 5 warm-up rounds. For
 * quick comparisons of kernel changes on a single layer (docs/performance.md, "third sitting");
 * run two builds alternately, this machine's speed drifts.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes mocoref.cpu.ConvTiming in out k stride size batch threads reps</pre>
 */
public final class ConvTiming {
    private ConvTiming() {}

    public static void main(String[] a) {
        int in = Integer.parseInt(a[0]), out = Integer.parseInt(a[1]), k = Integer.parseInt(a[2]), s = Integer.parseInt(a[3]);
        int size = Integer.parseInt(a[4]), n = Integer.parseInt(a[5]), threads = Integer.parseInt(a[6]), reps = Integer.parseInt(a[7]);
        CpuDevice d = new CpuDevice(threads);
        Device.ConvShape cs = new Device.ConvShape(in, out, k, s, k / 2, n, size, size);
        int wn = in * out * k * k;
        Buffer w = d.buffer(wn), g = d.buffer(wn);
        Random rng = new Random(1);
        float[] wv = new float[wn];
        for (int i = 0; i < wn; i++) wv[i] = (float) rng.nextGaussian() * 0.1f;
        d.write(wv, 0, w, 0, wn);
        Device.Conv2d conv = d.conv2d(cs, new ParamRef(w, g, 0, wn));
        Activation x = d.activation(n, in, size, size), y = d.activation(n, out, cs.outH(), cs.outW());
        Activation dx = d.activation(n, in, size, size);
        float[] xv = new float[n * in * size * size];
        for (int i = 0; i < xv.length; i++) xv[i] = (float) rng.nextGaussian();
        d.writeImages(xv, 0, x);
        double flop = 2.0 * out * in * k * k * n * cs.outH() * cs.outW();
        double[][] t = new double[3][reps];
        for (int r = -5; r < reps; r++) {
            long t0 = System.nanoTime();
            conv.forward(x, y);
            long t1 = System.nanoTime();
            conv.backwardInput(y, dx, false);
            long t2 = System.nanoTime();
            conv.backwardWeight(y, x);
            long t3 = System.nanoTime();
            if (r < 0) continue;
            t[0][r] = (t1 - t0) / 1e6;
            t[1][r] = (t2 - t1) / 1e6;
            t[2][r] = (t3 - t2) / 1e6;
        }
        String[] names = {"fwd", "dX", "dW"};
        StringBuilder sb = new StringBuilder(String.format("%d->%d k%d s%d @%d n%d t%d:", in, out, k, s, size, n, threads));
        for (int i = 0; i < 3; i++) {
            Arrays.sort(t[i]);
            double m = t[i][reps / 2];
            sb.append(String.format("  %s %.2f ms %.0f GFLOP/s", names[i], m, flop / m / 1e6));
        }
        System.out.println(sb);
    }
}
