package mocoref.golden;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.backend.ImageBatch;

/** Runs a golden case's steps on a backend and collects what {@code expected.safetensors} names. */
public final class GoldenRunner {
    private GoldenRunner() {}

    /**
     * Runs every step from the case's {@code init} + {@code inputs} files. Outputs stay F64 only
     * when both the backend and the case are float64; otherwise they are F32, as the spec says.
     */
    public static Map<String, StoredTensor> run(GoldenCase c, Backend backend) {
        Map<String, StoredTensor> out = run(c, backend, SafeTensors.read(c.initFile()).tensors(),
                SafeTensors.read(c.inputsFile()).tensors());
        boolean keep64 = backend.isFloat64() && c.dtype().equals("float64");
        Map<String, StoredTensor> typed = new LinkedHashMap<>();
        out.forEach((name, t) -> typed.put(name, keep64 || t.dtype() == DType.I64 ? t : StoredTensor.f32(t.toFloats(), t.shape())));
        return typed;
    }

    /** Runs every step from the given state and inputs: per-step logits and losses, then the final state. */
    public static Map<String, StoredTensor> run(GoldenCase c, Backend backend, Map<String, StoredTensor> init,
                                                Map<String, StoredTensor> inputs) {
        MocoModel model = backend.create(c.config(), init, c.initFile().toString());
        String where = c.inputsFile().toString();
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        int n = c.config().batch();
        int[] imageShape = {n, c.config().image()[0], c.config().image()[1], c.config().image()[2]};
        for (int s = 0; s < c.steps(); s++) {
            String p = "step." + s + ".";
            ImageBatch imQ = image(inputs, where, p + "im_q", imageShape);
            ImageBatch imK = image(inputs, where, p + "im_k", imageShape);
            boolean bank = c.config().mechanism() == MocoConfig.Mechanism.MEMORY_BANK;
            int[] idx = bank ? null : permutation(inputs, where, p + "idx_shuffle", n);
            int[] idx2 = !bank && c.config().symmetric() ? permutation(inputs, where, p + "idx_shuffle2", n) : null;
            int[] index = bank ? indices(inputs, where, p + "index", n) : null;
            int[] negatives = bank ? indices(inputs, where, p + "negatives", c.config().K()) : null;
            StepResult r = model.step(new StepInput(imQ, imK, idx, idx2, c.config().momentumAt(s), c.config().lr(), true,
                    index, negatives));
            out.put(p + "logits", r.logits());
            out.put(p + "loss", StoredTensor.f64(new double[] {r.loss()}));
            if (r.logits2() != null) out.put(p + "logits2", r.logits2());
        }
        out.putAll(model.state());
        return out;
    }

    private static StoredTensor require(Map<String, StoredTensor> inputs, String where, String name) {
        StoredTensor t = inputs.get(name);
        if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
        return t;
    }

    /** The images as stored: float64 stays float64 (the reference reads it exactly), float32 stays float32. */
    private static ImageBatch image(Map<String, StoredTensor> inputs, String where, String name, int[] shape) {
        StoredTensor t = require(inputs, where, name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new MocoRefException(where + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", case.json implies " + Arrays.toString(shape));
        }
        return t.dtype() == DType.F64 ? ImageBatch.of(t.toDoubles(), shape[0], shape[1], shape[2], shape[3])
                : ImageBatch.of(t.toFloats(), shape[0], shape[1], shape[2], shape[3]);
    }

    /** An I64 tensor of {@code n} entries as ints (the model checks their range against the bank). */
    private static int[] indices(Map<String, StoredTensor> inputs, String where, String name, int n) {
        long[] v = require(inputs, where, name).toLongs();
        if (v.length != n) throw new MocoRefException(where + ": tensor '" + name + "' has " + v.length + " entries, expected " + n);
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            if (v[i] < 0 || v[i] > Integer.MAX_VALUE) throw new MocoRefException(where + ": tensor '" + name + "' holds " + v[i]);
            idx[i] = (int) v[i];
        }
        return idx;
    }

    private static int[] permutation(Map<String, StoredTensor> inputs, String where, String name, int n) {
        long[] v = require(inputs, where, name).toLongs();
        if (v.length != n) throw new MocoRefException(where + ": tensor '" + name + "' has " + v.length + " entries, batch is " + n);
        int[] idx = new int[n];
        boolean[] seen = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (v[i] < 0 || v[i] >= n || seen[(int) v[i]]) {
                throw new MocoRefException(where + ": tensor '" + name + "' is not a permutation of 0.." + (n - 1));
            }
            seen[(int) v[i]] = true;
            idx[i] = (int) v[i];
        }
        return idx;
    }
}
