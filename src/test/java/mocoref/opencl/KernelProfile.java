package mocoref.opencl;

import java.util.Random;
import mocoref.backend.ImageBatch;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.registry.Backends;
import mocoref.tensor.Permutations;

/**
 * Where an opencl step's time goes, per kernel, for use while optimizing; not a test. Runs the
 * default configuration (at the given width and batch) with {@code -Dmocoref.opencl.profile=true},
 * which waits for each kernel and prints the table when the device closes.
 *
 * <pre>java -Dmocoref.opencl.profile=true -cp ... mocoref.opencl.KernelProfile [width] [batch] [steps] [cl-devices]</pre>
 */
public final class KernelProfile {
    private KernelProfile() {}

    public static void main(String[] args) {
        int width = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        String devices = args.length > 3 ? args[3] : null;
        ResNetConfig model = ResNetConfig.preset("resnet18", width, 1, ResNetConfig.Stem.CIFAR, 128, true);
        MocoConfig config = new MocoConfig(model, 4096, 0.99, 0.1, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.06, 0.9, 5e-4, batch, new int[] {1, 28, 28});
        Random rng = new Random(1);
        float[] q = new float[batch * 784], k = new float[batch * 784];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rng.nextGaussian();
            k[i] = (float) rng.nextGaussian();
        }
        try (MocoModel m = Backends.byName("opencl", 0, devices).create(config, FreshState.of(config, 1), "profile")) {
            for (int s = 0; s < steps; s++) {
                long t0 = System.nanoTime();
                m.step(new StepInput(ImageBatch.of(q, batch, 1, 28, 28), ImageBatch.of(k, batch, 1, 28, 28),
                        Permutations.random(rng, batch), null, 0.99, 0.06, false));
                System.err.printf("step %d: %.1f ms%n", s, (System.nanoTime() - t0) / 1e6);
            }
        }
    }
}
