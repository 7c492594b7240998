package mocoref.golden;

import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.backend.MocoModel;
import mocoref.backend.StepInput;
import mocoref.backend.StepResult;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;
import mocoref.tensor.Tensor;

/** Runs a golden case's steps on a backend and collects what {@code expected.safetensors} names. */
public final class GoldenRunner {
    private GoldenRunner() {}

    /**
     * Runs every step from {@code init} + {@code inputs} and returns per-step logits and losses
     * followed by the final state, under the spec's names. {@code float64} outputs stay F64 only
     * when both the backend and the case are float64; otherwise they are F32, as the spec says.
     */
    public static Map<String, StoredTensor> run(GoldenCase c, Backend backend) {
        SafeTensorsFile init = SafeTensors.read(c.initFile());
        SafeTensorsFile inputs = SafeTensors.read(c.inputsFile());
        MocoModel model = backend.create(c.config(), init.tensors(), c.initFile().toString());
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        int[] imageShape = {c.config().batch(), c.config().image()[0], c.config().image()[1], c.config().image()[2]};
        for (int s = 0; s < c.steps(); s++) {
            String p = "step." + s + ".";
            Tensor imQ = image(inputs, p + "im_q", imageShape);
            Tensor imK = image(inputs, p + "im_k", imageShape);
            int[] idx = permutation(inputs, p + "idx_shuffle", c.config().batch());
            int[] idx2 = c.config().symmetric() ? permutation(inputs, p + "idx_shuffle2", c.config().batch()) : null;
            StepResult r = model.step(new StepInput(imQ, imK, idx, idx2, c.config().momentumAt(s), c.config().lr()));
            out.put(p + "logits", r.logits());
            out.put(p + "loss", StoredTensor.f64(new double[] {r.loss()}));
            if (r.logits2() != null) out.put(p + "logits2", r.logits2());
        }
        out.putAll(model.state());
        boolean keep64 = backend.isFloat64() && c.dtype().equals("float64");
        Map<String, StoredTensor> typed = new LinkedHashMap<>();
        out.forEach((name, t) -> typed.put(name, keep64 || t.dtype() == DType.I64 ? t : StoredTensor.f32(t.toFloats(), t.shape())));
        return typed;
    }

    private static Tensor image(SafeTensorsFile inputs, String name, int[] shape) {
        StoredTensor t = inputs.get(name);
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new MocoRefException(inputs.path() + ": tensor '" + name + "' has shape "
                    + java.util.Arrays.toString(t.shape()) + ", case.json implies " + java.util.Arrays.toString(shape));
        }
        return new Tensor(t.toDoubles(), shape);
    }

    private static int[] permutation(SafeTensorsFile inputs, String name, int n) {
        long[] v = inputs.get(name).toLongs();
        if (v.length != n) throw new MocoRefException(inputs.path() + ": tensor '" + name + "' has " + v.length + " entries, batch is " + n);
        int[] idx = new int[n];
        boolean[] seen = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (v[i] < 0 || v[i] >= n || seen[(int) v[i]]) {
                throw new MocoRefException(inputs.path() + ": tensor '" + name + "' is not a permutation of 0.." + (n - 1));
            }
            seen[(int) v[i]] = true;
            idx[i] = (int) v[i];
        }
        return idx;
    }
}
