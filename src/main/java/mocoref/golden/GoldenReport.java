package mocoref.golden;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;

/** The per-tensor comparison of produced against expected values, ‖a−e‖/‖e‖ each. */
public final class GoldenReport {
    /** One tensor's verdict; {@code relErr} is NaN when the tensor is missing or misshapen. */
    public record Line(String name, double relErr, double tolerance, String problem) {
        public boolean ok() {
            return problem == null && relErr <= tolerance;
        }
    }

    private final List<Line> lines = new ArrayList<>();

    public List<Line> lines() {
        return lines;
    }

    public int passed() {
        return (int) lines.stream().filter(Line::ok).count();
    }

    public int failed() {
        return lines.size() - passed();
    }

    public double worst() {
        return lines.stream().mapToDouble(Line::relErr).max().orElse(0);
    }

    /** Compares every tensor of {@code expected} with its namesake in {@code actual}. */
    public static GoldenReport compare(SafeTensorsFile expected, Map<String, StoredTensor> actual, double tolerance) {
        GoldenReport report = new GoldenReport();
        for (Map.Entry<String, StoredTensor> e : expected.tensors().entrySet()) {
            String name = e.getKey();
            StoredTensor a = actual.get(name);
            if (a == null) {
                report.lines.add(new Line(name, Double.NaN, tolerance, "missing"));
            } else if (!Arrays.equals(a.shape(), e.getValue().shape())) {
                report.lines.add(new Line(name, Double.NaN, tolerance,
                        "shape " + Arrays.toString(a.shape()) + ", expected " + Arrays.toString(e.getValue().shape())));
            } else {
                report.lines.add(new Line(name, relativeError(a.toDoubles(), e.getValue().toDoubles()), tolerance, null));
            }
        }
        return report;
    }

    /** ‖a−e‖/‖e‖ in the 2-norm; where e is all zeros, the absolute ‖a−e‖. NaN anywhere gives NaN. */
    public static double relativeError(double[] a, double[] e) {
        double diff = 0, norm = 0;
        for (int i = 0; i < e.length; i++) {
            double d = a[i] - e[i];
            diff += d * d;
            norm += e[i] * e[i];
        }
        if (Double.isNaN(diff)) return Double.NaN;
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    /** One line per tensor ("name  rel_err  tol  OK|FAIL"), for the CLI. */
    public List<String> format() {
        int width = lines.stream().mapToInt(l -> l.name().length()).max().orElse(10);
        List<String> out = new ArrayList<>();
        for (Line l : lines) {
            String err = l.problem() != null ? l.problem() : String.format("%.3e", l.relErr());
            out.add(String.format("%-" + width + "s  %12s  %.0e  %s", l.name(), err, l.tolerance(), l.ok() ? "OK" : "FAIL"));
        }
        return out;
    }
}
