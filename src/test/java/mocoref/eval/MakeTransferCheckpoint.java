package mocoref.eval;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import mocoref.backend.MocoModel;
import mocoref.backend.ImageBatch;
import mocoref.backend.StepInput;
import mocoref.model.FreshState;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;
import mocoref.reference.ReferenceBackend;
import mocoref.tensor.Permutations;
import mocoref.tensor.Tensor;

/**
 * Writes {@code reference-tests/transfer/mocoref_checkpoint.safetensors}, the moco-ref-made side
 * of the transfer tests; not a test. A fresh MoCo state (ResNet-18 layout, width 4, 1 channel,
 * cifar stem, MLP head dim 16) takes two reference-backend steps on random images, so that
 * encoder_q and encoder_k differ and momentum buffers exist, as in any checkpoint. Then every
 * BatchNorm parameter and running statistic of encoder_q is redrawn at random: after two steps
 * they are still near 1 and 0, and a loader that mixed up two BN layers would go unnoticed.
 * Written in F32 with the metadata {@code moco-ref train} writes. Run by make_transfer.sh:
 *
 * <pre>java -cp target/moco-ref.jar:target/test-classes mocoref.eval.MakeTransferCheckpoint OUT</pre>
 */
public final class MakeTransferCheckpoint {
    static final ResNetConfig MODEL = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {2, 2, 2, 2}, 4, 1,
            ResNetConfig.Stem.CIFAR, 16, true);

    private MakeTransferCheckpoint() {}

    public static void main(String[] args) {
        Path out = Path.of(args.length > 0 ? args[0] : "reference-tests/transfer/mocoref_checkpoint.safetensors");
        MocoConfig config = new MocoConfig(MODEL, 32, 0.99, 0.2, 2, MocoConfig.MomentumSchedule.CONSTANT, 0, 0, false,
                0.03, 0.9, 1e-4, 8, new int[] {1, 28, 28}).validate();
        long seed = 20240601;
        MocoModel moco = new ReferenceBackend().create(config, FreshState.of(config, seed), "transfer checkpoint");
        Random rng = new Random(seed);
        for (int step = 0; step < 2; step++) {
            moco.step(new StepInput(ImageBatch.of(randn(rng, 8, 1, 28, 28)), ImageBatch.of(randn(rng, 8, 1, 28, 28)), Permutations.random(rng, 8), null, config.m(),
                    config.lr(), false));
        }
        Map<String, StoredTensor> state = new LinkedHashMap<>();
        for (Map.Entry<String, StoredTensor> e : moco.state().entrySet()) {
            StoredTensor t = e.getValue();
            state.put(e.getKey(), t.dtype() == DType.F64 ? StoredTensor.f32(t.toFloats(), t.shape()) : t);
        }
        redrawBatchNorm(state, "encoder_q.", new Random(seed + 1));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "moco-ref-checkpoint/1");
        meta.put("config", "{\"model\":{\"block\":\"basic\",\"layers\":[2,2,2,2],\"width\":4,\"in_channels\":1,\"stem\":\"cifar\","
                + "\"dim\":16,\"mlp\":true},\"image_size\":28,\"normalize_mean\":[0.286],\"normalize_std\":[0.353],"
                + "\"data\":\"/usr/share/datasets/fashion-mnist\",\"moco\":{\"K\":32,\"m\":0.99,\"T\":0.2,\"devices\":2},"
                + "\"batch_size\":8,\"lr\":0.03}");
        meta.put("epoch", "1");
        meta.put("step", "2");
        meta.put("made_by", "mocoref.eval.MakeTransferCheckpoint (reference backend, seed " + seed + ")");
        SafeTensors.write(out, state, meta);
    }

    /** BN weight U(0.5, 1.5), bias U(-0.5, 0.5), running_mean U(-0.5, 0.5), running_var U(0.5, 2), num_batches_tracked 1000. */
    private static void redrawBatchNorm(Map<String, StoredTensor> state, String prefix, Random rng) {
        for (String name : state.keySet().toArray(new String[0])) {
            if (!name.startsWith(prefix)) continue;
            String module = name.substring(0, name.lastIndexOf('.'));
            if (!state.containsKey(module + ".running_mean")) continue; // not a BatchNorm
            StoredTensor t = state.get(name);
            if (name.endsWith(".num_batches_tracked")) {
                state.put(name, StoredTensor.i64(new long[] {1000}));
                continue;
            }
            double lo = name.endsWith(".weight") ? 0.5 : name.endsWith(".running_var") ? 0.5 : -0.5;
            double hi = name.endsWith(".weight") ? 1.5 : name.endsWith(".running_var") ? 2.0 : 0.5;
            float[] v = new float[t.numel()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * rng.nextDouble());
            state.put(name, StoredTensor.f32(v, t.shape()));
        }
    }

    private static Tensor randn(Random rng, int... shape) {
        Tensor t = new Tensor(shape);
        for (int i = 0; i < t.numel(); i++) t.data[i] = rng.nextGaussian();
        return t;
    }
}
