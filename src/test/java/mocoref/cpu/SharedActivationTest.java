package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.backend.StepInput;
import mocoref.device.Activation;
import mocoref.float32.Float32MoCo;
import mocoref.io.StoredTensor;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.parallel.WorkerPool;
import mocoref.tensor.Permutations;
import org.junit.jupiter.api.Test;

/**
 * The activations the pool shares across geometries ({@link CpuDevice#sharedActivation}): a model
 * whose shared activations take turns in one array per bank computes the same bits as one that
 * gives each its own array, also when every bank's new holder starts as NaN (a layer that left
 * part of its output unwritten, or a pool that let two activations of one bank live at once, would
 * show as NaN or as different bits).
 */
class SharedActivationTest {
    private static final int H = 20, BANK = 40;

    @Test
    void banksComputeTheSameBitsAsOwnMemory() {
        ResNetConfig basic = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
        ResNetConfig imagenet = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {2, 1, 1, 1}, 4, 1, ResNetConfig.Stem.IMAGENET, 8, false);
        ResNetConfig bottleneck = new ResNetConfig(ResNetConfig.Block.BOTTLENECK, new int[] {1, 2, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 8, true);
        for (ResNetConfig model : List.of(basic, imagenet, bottleneck)) {
            for (MocoConfig.Mechanism mechanism : MocoConfig.Mechanism.values()) {
                MocoConfig config = new MocoConfig(model, mechanism == MocoConfig.Mechanism.END_TO_END ? 7 : 16, 0.9, 0.2, 2,
                        MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false, 0.1, 0.9, 1e-4, 8, new int[] {1, H, H})
                        .with(mechanism, true);
                List<float[]> own = run(config, CpuDevice.Sharing.NONE);
                String what = model.block() + " " + model.stem() + " " + mechanism;
                for (CpuDevice.Sharing sharing : List.of(CpuDevice.Sharing.BANKS, CpuDevice.Sharing.POISONED_BANKS)) {
                    List<float[]> shared = run(config, sharing);
                    assertEquals(own.size(), shared.size());
                    for (int i = 0; i < own.size(); i++) {
                        assertArrayEquals(own.get(i), shared.get(i), what + ", " + sharing + ": result " + i + " differs");
                    }
                }
            }
        }
    }

    /** Two steps, an eval encoding of another batch size, a third step: the losses, the features and the state. */
    private static List<float[]> run(MocoConfig config, CpuDevice.Sharing sharing) {
        CpuDevice device = new CpuDevice(Kernels.INSTANCE, WorkerPool.shared(2), sharing);
        List<float[]> out = new ArrayList<>();
        Random rng = new Random(7);
        try (Float32MoCo m = new Float32MoCo(config, FreshState.of(config, 3, BANK), "shared", device)) {
            for (int s = 0; s < 3; s++) {
                out.add(new float[] {(float) m.step(input(config, rng, s)).loss()});
                if (s == 1) {
                    Encoder e = m.encoderQ();
                    Encoder.Encoded encoded = e.encode(ImageBatch.of(images(rng, 5), 5, 1, H, H));
                    out.add(encoded.features());
                    out.add(encoded.embeddings());
                }
            }
            for (Map.Entry<String, StoredTensor> t : new java.util.TreeMap<>(m.state()).entrySet()) out.add(t.getValue().toFloats());
        }
        for (float[] r : out) {
            for (float v : r) assertTrue(Float.isFinite(v), "a result is not finite (" + sharing + ")");
        }
        return out;
    }

    private static StepInput input(MocoConfig config, Random rng, int step) {
        int n = config.batch();
        boolean bank = config.mechanism() == MocoConfig.Mechanism.MEMORY_BANK;
        int[] index = new int[n], negatives = new int[config.K()];
        for (int i = 0; i < n; i++) index[i] = (step * n + i) % BANK;
        for (int i = 0; i < negatives.length; i++) negatives[i] = rng.nextInt(BANK);
        return new StepInput(ImageBatch.of(images(rng, n), n, 1, H, H), ImageBatch.of(images(rng, n), n, 1, H, H),
                Permutations.random(rng, n), null, config.m(), config.lr(), false, bank ? index : null, bank ? negatives : null);
    }

    private static float[] images(Random rng, int n) {
        float[] x = new float[n * H * H];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }

    @Test
    void readingAnActivationAfterAnotherOfItsBankWasWrittenFails() {
        CpuDevice device = new CpuDevice(Kernels.INSTANCE, WorkerPool.shared(1), CpuDevice.Sharing.BANKS);
        Activation big = device.sharedActivation(0, 2, 3, 8, 8), small = device.sharedActivation(0, 2, 6, 4, 4);
        device.writeImages(new float[2 * 3 * 64], 0, big);
        device.readActivation(big);
        device.writeImages(new float[2 * 6 * 16], 0, small);
        assertThrows(IllegalStateException.class, () -> device.readActivation(big));
        Activation unwritten = device.sharedActivation(1, 2, 3, 8, 8);
        assertThrows(IllegalStateException.class, () -> device.readActivation(unwritten));
        assertThrows(IllegalStateException.class, () -> CpuDevice.overwritten(big, small));
    }
}
