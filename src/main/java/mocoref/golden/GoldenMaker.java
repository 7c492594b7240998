package mocoref.golden;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.FreshState;
import mocoref.model.MocoConfig;
import mocoref.reference.ReferenceBackend;
import mocoref.tensor.Permutations;

/**
 * Writes a new golden case from the reference backend: a fresh MoCo state as {@code main_moco.py}
 * builds it (torchvision initialization, encoder_k a copy of encoder_q, a random unit-column
 * queue), random inputs and shuffles from {@code seed}, and the expected results of
 * {@code steps} steps computed in float64.
 */
public final class GoldenMaker {
    private GoldenMaker() {}

    /** A memory bank case's bank: three batches' worth of training images. */
    public static int bankRows(MocoConfig config) {
        return 3 * config.batch();
    }

    /**
     * Standard-normal images and uniformly random shuffles for every step; for the memory bank, the
     * batch's bank rows (distinct) and K negative rows (uniform, with replacement) instead of shuffles.
     */
    static Map<String, StoredTensor> randomInputs(MocoConfig config, int steps, long seed) {
        Random rng = new Random(seed * 31 + 7);
        int n = config.batch();
        int[] shape = {n, config.image()[0], config.image()[1], config.image()[2]};
        int size = n * config.image()[0] * config.image()[1] * config.image()[2];
        Map<String, StoredTensor> inputs = new LinkedHashMap<>();
        for (int s = 0; s < steps; s++) {
            for (String view : new String[] {"im_q", "im_k"}) {
                double[] im = new double[size];
                for (int i = 0; i < size; i++) im[i] = rng.nextGaussian();
                inputs.put("step." + s + "." + view, StoredTensor.f64(im, shape));
            }
            if (config.mechanism() == MocoConfig.Mechanism.MEMORY_BANK) {
                int rows = bankRows(config);
                long[] index = java.util.Arrays.stream(Permutations.random(rng, rows)).limit(n).asLongStream().toArray();
                long[] negatives = new long[config.K()];
                for (int j = 0; j < negatives.length; j++) negatives[j] = rng.nextInt(rows);
                inputs.put("step." + s + ".index", StoredTensor.i64(index, n));
                inputs.put("step." + s + ".negatives", StoredTensor.i64(negatives, negatives.length));
                continue;
            }
            inputs.put("step." + s + ".idx_shuffle", shuffle(rng, n));
            if (config.symmetric()) inputs.put("step." + s + ".idx_shuffle2", shuffle(rng, n));
        }
        return inputs;
    }

    /** A random idx_shuffle: a permutation of 0..n-1, I64 as the spec stores it. */
    private static StoredTensor shuffle(Random rng, int n) {
        return StoredTensor.i64(java.util.Arrays.stream(Permutations.random(rng, n)).asLongStream().toArray(), n);
    }

    /**
     * Writes the case into {@code dir} (which must not hold a case already) and returns it.
     * {@code float32Backend}, when given, decides whether float32 backends are held to the case.
     */
    public static GoldenCase make(Path dir, MocoConfig config, int steps, long seed, Backend float32Backend) {
        config.validate();
        if (steps < 1) throw new MocoRefException("--steps must be at least 1, got " + steps);
        if (Files.exists(dir.resolve("case.json"))) {
            throw new MocoRefException(dir + ": already holds a golden case (case.json); choose another --out");
        }
        SafeTensors.write(dir.resolve("init.safetensors"), FreshState.of(config, seed, bankRows(config)), Map.of());
        SafeTensors.write(dir.resolve("inputs.safetensors"), randomInputs(config, steps, seed), Map.of());
        var json = GoldenCase.toJson(config, steps, "float64");
        Path caseFile = dir.resolve("case.json");
        GoldenCase.writeJson(caseFile, json);
        GoldenCase c = GoldenCase.load(dir);
        Map<String, StoredTensor> expected = GoldenRunner.run(c, new ReferenceBackend());
        SafeTensors.write(c.expectedFile(), expected, Map.of("made_by", "moco-ref golden make", "seed", Long.toString(seed)));
        Float32Conditioning.Verdict v = Float32Conditioning.judge(c, float32Backend);
        var f32 = json.putObject("float32");
        f32.put("held", v.held());
        if (!Double.isNaN(v.worst())) f32.put("worst_rel_err", v.worst());
        f32.put("reruns", v.reruns());
        f32.put("reason", v.reason());
        GoldenCase.writeJson(caseFile, json);
        return GoldenCase.load(dir);
    }
}
