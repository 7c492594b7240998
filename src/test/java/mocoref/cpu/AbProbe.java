package mocoref.cpu;

import java.util.Random;
import java.util.function.ToLongFunction;
import mocoref.device.Activation;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;

/**
 * One convolution on the cpu device, for {@link ConvAB}: built from the classes of whichever build
 * loaded it (ConvAB loads this class once per build, each in its own class loader), it times one
 * pass at a time ("fwd", "dX", "dW") and answers in nanoseconds through a java.base interface, the
 * only type the two builds share. It uses only the device API that both builds are expected to have.
 */
public final class AbProbe implements ToLongFunction<String> {
    private final Device.Conv2d conv;
    private final Activation x, y, dx;
    private final boolean accumulateDx;

    /** shape: in, out, kernel, stride, size, batch, threads; accumulateDx as ConvTiming's -Dconv.accumulateDx. */
    public AbProbe(int[] shape, boolean accumulateDx) {
        int in = shape[0], out = shape[1], k = shape[2], s = shape[3], size = shape[4], n = shape[5], threads = shape[6];
        Device.ConvShape cs = new Device.ConvShape(in, out, k, s, k / 2, n, size, size);
        // -Dwinograd.from as ConvTiming's, read here, so that ConvAB can give each build its own
        Integer winogradFrom = Integer.getInteger("winograd.from");
        CpuDevice d = winogradFrom == null ? new CpuDevice(threads) : CpuDevice.withWinogradFrom(threads, winogradFrom);
        Random rng = new Random(1); // the same weights and inputs in both builds
        int wn = out * in * k * k;
        Buffer wb = d.buffer(wn), gb = d.buffer(wn);
        d.write(randoms(rng, wn, 0.1f), 0, wb, 0, wn);
        conv = d.conv2d(cs, new ParamRef(wb, gb, 0, wn));
        x = d.activation(n, in, size, size);
        y = d.activation(n, out, cs.outH(), cs.outW());
        dx = d.activation(n, in, size, size);
        d.writeImages(randoms(rng, n * in * size * size, 1f), 0, x);
        this.accumulateDx = accumulateDx;
    }

    @Override
    public long applyAsLong(String pass) {
        long t0 = System.nanoTime();
        switch (pass) {
            case "fwd" -> conv.forward(x, y);
            case "dX" -> conv.backwardInput(y, dx, accumulateDx);
            case "dW" -> conv.backwardWeight(y, x);
            default -> throw new IllegalArgumentException(pass);
        }
        return System.nanoTime() - t0;
    }

    private static float[] randoms(Random rng, int count, float scale) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float) rng.nextGaussian() * scale;
        return v;
    }
}
