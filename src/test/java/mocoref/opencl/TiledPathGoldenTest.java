package mocoref.opencl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import mocoref.float32.Float32Backend;
import mocoref.golden.GoldenCase;
import mocoref.golden.GoldenReport;
import mocoref.golden.GoldenRunner;
import mocoref.io.SafeTensors;
import mocoref.testing.ErrorLog;
import org.junit.jupiter.api.Test;

/**
 * Every float32-held golden case on the opencl device with the GPU's convolution path (tiled
 * implicit products), within the golden tolerance 2e-4: CI has only PoCL, whose default is the
 * vector path, so the whole step on the path GPUs take is checked here.
 */
class TiledPathGoldenTest {
    @Test
    void goldenCasesPassOnTheTiledPath() throws Exception {
        ClRuntime.Target t = ClRuntime.target(OpenClTesting.devices().get(0).index());
        Float32Backend tiled = new Float32Backend("opencl", () -> new OpenClDevice(t, OpenClDevice.ConvPath.TILED));
        List<GoldenCase> cases;
        try (Stream<Path> s = Files.list(Path.of("reference-tests/cases"))) {
            cases = s.filter(Files::isDirectory).sorted().map(GoldenCase::load).filter(GoldenCase::float32Held).toList();
        }
        assertTrue(cases.size() >= 8, "cases: " + cases);
        for (GoldenCase c : cases) {
            GoldenReport r = GoldenReport.compare(SafeTensors.read(c.expectedFile()), GoldenRunner.run(c, tiled), 2e-4);
            assertTrue(r.failed() == 0 && !r.lines().isEmpty(), c.name() + ":\n" + String.join("\n", r.format()));
            ErrorLog.record("golden opencl tiled", c.name(), r.worst() / 2e-4);
        }
    }
}
