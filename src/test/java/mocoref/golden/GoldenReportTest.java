package mocoref.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;
import org.junit.jupiter.api.Test;

/**
 * A mutation check of the golden comparison itself: in every committed case, an error of 1e-3
 * relative planted in any single tensor of expected.safetensors (one element moved by 1e-3 of the
 * tensor's norm; an integer tensor moved by 1) fails that tensor, and only that tensor, at
 * float32's tolerance (2e-4), while the unplanted file passes with error 0.
 */
class GoldenReportTest {
    static final double PLANTED = 1e-3;

    @Test
    void aPlantedErrorInAnyOneTensorIsCaught() throws IOException {
        SplittableRandom rng = new SplittableRandom(12);
        int planted = 0;
        for (Path dir : caseDirs()) {
            SafeTensorsFile expected = SafeTensors.read(GoldenCase.load(dir).expectedFile());
            GoldenReport clean = GoldenReport.compare(expected, expected.tensors(), Float32Conditioning.TOLERANCE);
            assertEquals(0, clean.failed(), dir.toString());
            assertEquals(0, clean.worst(), dir.toString());
            for (String name : expected.names()) {
                Map<String, StoredTensor> actual = new LinkedHashMap<>(expected.tensors());
                actual.put(name, plant(expected.get(name), rng));
                GoldenReport r = GoldenReport.compare(expected, actual, Float32Conditioning.TOLERANCE);
                assertEquals(1, r.failed(), dir.getFileName() + ": " + name + String.join("\n", r.format()));
                GoldenReport.Line bad = r.lines().stream().filter(l -> !l.ok()).findFirst().orElseThrow();
                assertEquals(name, bad.name());
                assertTrue(bad.relErr() >= PLANTED * (1 - 1e-9), name + ": " + bad.relErr());
                planted++;
            }
        }
        assertTrue(planted > 1000, "planted in " + planted + " tensors");
    }

    @Test
    void aNaNAnywhereFails() {
        double[] e = {1, 2, 3};
        assertTrue(Double.isNaN(GoldenReport.relativeError(new double[] {1, Double.NaN, 3}, e)));
        GoldenReport.Line nan = new GoldenReport.Line("x", Double.NaN, 1, null);
        assertFalse(nan.ok());
    }

    /** {@code t} with one element moved: by PLANTED times the tensor's norm (floats), or by 1 (integers). */
    private static StoredTensor plant(StoredTensor t, SplittableRandom rng) {
        if (t.numel() == 0) return t;
        int i = rng.nextInt(t.numel());
        if (t.dtype() == DType.I64) {
            long[] v = t.toLongs();
            v[i] += 1;
            return StoredTensor.i64(v, t.shape());
        }
        double[] v = t.toDoubles();
        double norm = 0;
        for (double x : v) norm += x * x;
        norm = Math.sqrt(norm);
        v[i] += PLANTED * (norm == 0 ? 1 : norm);
        return StoredTensor.f64(v, t.shape());
    }

    static java.util.List<Path> caseDirs() throws IOException {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(Path.of("reference-tests/cases"))) {
            return s.filter(java.nio.file.Files::isDirectory).sorted().toList();
        }
    }
}
