package mocoref.golden;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import mocoref.backend.Backend;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;

/**
 * Decides whether float32 backends can be held to a case at 2e-4. A case is well conditioned when
 * every BatchNorm sees at least 4 samples per device (fewer makes the normalization amplify
 * rounding) and reruns of the whole case on a float32 backend, each with the initial state and
 * inputs nudged by a relative 1e-7 (float32's rounding), all land within 2e-4 of the float64
 * expected values: no pre-activation is so near zero that rounding flips a ReLU.
 */
public final class Float32Conditioning {
    public static final int RERUNS = 8;
    public static final double TOLERANCE = 2e-4;

    public record Verdict(boolean held, double worst, int reruns, String reason) {}

    private Float32Conditioning() {}

    public static Verdict judge(GoldenCase c, Backend float32Backend) {
        int perDevice = c.config().batch() / c.config().devices();
        if (perDevice < 4) {
            return new Verdict(false, Double.NaN, 0, "not held: " + perDevice + " samples per device in BatchNorm (< 4)");
        }
        if (float32Backend == null) {
            return new Verdict(false, Double.NaN, 0, "not held: no float32 backend was available to check its conditioning");
        }
        SafeTensorsFile expected = SafeTensors.read(c.expectedFile());
        SafeTensorsFile init = SafeTensors.read(c.initFile());
        SafeTensorsFile inputs = SafeTensors.read(c.inputsFile());
        double worst = 0;
        String worstName = "";
        for (int r = 0; r < RERUNS; r++) {
            Random rng = new Random(1000 + r);
            Map<String, StoredTensor> out = GoldenRunner.run(c, float32Backend, nudge(init.tensors(), rng), nudge(inputs.tensors(), rng));
            GoldenReport report = GoldenReport.compare(expected, out, TOLERANCE);
            for (GoldenReport.Line l : report.lines()) {
                double e = Double.isNaN(l.relErr()) ? Double.POSITIVE_INFINITY : l.relErr();
                if (e > worst) {
                    worst = e;
                    worstName = l.name();
                }
            }
        }
        boolean held = worst <= TOLERANCE;
        return new Verdict(held, worst, RERUNS, (held ? "held" : "not held") + ": worst relative error over " + RERUNS
                + " perturbed float32 reruns is " + String.format("%.3g", worst) + " (" + worstName + ")");
    }

    /** Multiplies every float value by (1 + 1e-7 * N(0,1)); integers stay as they are. */
    private static Map<String, StoredTensor> nudge(Map<String, StoredTensor> tensors, Random rng) {
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            if (t.dtype() == DType.I64) {
                out.put(name, t);
            } else {
                double[] v = t.toDoubles();
                for (int i = 0; i < v.length; i++) v[i] *= 1 + 1e-7 * rng.nextGaussian();
                out.put(name, StoredTensor.f64(v, t.shape()));
            }
        });
        return out;
    }
}
