package mocoref.cpu;

import java.util.Random;
import java.util.function.ToLongFunction;
import mocoref.device.Device;
import mocoref.float32.LayerTiming;

/**
 * One convolution on the cpu device, for {@link ConvAB}: built from the classes of whichever build
 * loaded it (ConvAB loads this class once per build, each in its own class loader, with this
 * checkout's test classes first), it times one pass at a time ("fwd", "dX", "dW") and answers in
 * nanoseconds through a java.base interface, the only type the two builds share. The layer and its
 * activations are LayerTiming's (the same weights and inputs in both builds); it uses only the device
 * API that both builds are expected to have.
 */
public final class AbProbe implements ToLongFunction<String> {
    private final LayerTiming.ConvRun run;

    /** shape: in, out, kernel, stride, size, batch, threads. -Dconv.accumulateDx as ConvTiming's. */
    public AbProbe(int[] shape) {
        int in = shape[0], out = shape[1], k = shape[2], s = shape[3], size = shape[4], n = shape[5], threads = shape[6];
        // -Dwinograd.from as ConvTiming's, read here, so that ConvAB can give each build its own
        Integer winogradFrom = Integer.getInteger("winograd.from");
        CpuDevice d = winogradFrom == null ? new CpuDevice(threads) : CpuDevice.withWinogradFrom(threads, winogradFrom);
        run = new LayerTiming.ConvRun(d, new Device.ConvShape(in, out, k, s, k / 2, n, size, size), new Random(1));
    }

    @Override
    public long applyAsLong(String pass) {
        long t0 = System.nanoTime();
        switch (pass) {
            case "fwd" -> run.forward();
            case "dX" -> run.backwardInput();
            case "dW" -> run.backwardWeight();
            default -> throw new IllegalArgumentException(pass);
        }
        return System.nanoTime() - t0;
    }
}
