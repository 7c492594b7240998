package mocoref.float32;

import java.util.Random;
import java.util.function.ToLongFunction;
import mocoref.backend.StepInput;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.registry.Backends;

/**
 * A whole MoCo step of the benchmark's configuration (StepTiming's: ResNet-18 layout, batch, K 4096)
 * on the cpu backend, for {@code mocoref.cpu.ConvAB}'s step mode: built from the classes of the build
 * that loaded it, timed one step at a time, in nanoseconds.
 */
public final class AbStepProbe implements ToLongFunction<String> {
    private final Float32MoCo model;
    private final StepInput in;

    /** args: width, threads, batch. */
    public AbStepProbe(int[] args) {
        MocoConfig config = StepTiming.defaultConfig("resnet18", args[0], args[2]);
        Float32Backend b = (Float32Backend) Backends.byName("cpu", args[1]);
        model = (Float32MoCo) b.create(config, FreshState.of(config, 1), "random init");
        in = StepTiming.randomInput(config, new Random(2));
    }

    @Override
    public long applyAsLong(String pass) {
        long t0 = System.nanoTime();
        model.step(in);
        return System.nanoTime() - t0;
    }
}
