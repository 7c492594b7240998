package mocoref.suite;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.util.stream.Stream;
import mocoref.cpu.CpuDevice;
import mocoref.float32.Float32Backend;
import mocoref.golden.GoldenReport;
import mocoref.golden.GoldenRunner;
import mocoref.io.SafeTensors;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The golden cases on the cpu device with every 3x3 stride-1 convolution by Winograd's F(2x2, 3x3)
 * (the registered device takes it from 128 channels on, which the committed cases' small models
 * never reach), at the float32 tolerance 2e-4, on 2 threads: the whole MoCo step, forward and
 * backward, with that path in every layer it can take.
 */
class WinogradGoldenTest {
    @TestFactory
    Stream<DynamicTest> goldenCasesHoldWithWinogradEverywhere() throws IOException {
        Float32Backend backend = new Float32Backend("cpu", () -> CpuDevice.withWinogradFrom(2, 1));
        return BackendSuiteTest.cases().stream().filter(c -> c.float32Held()).map(c -> dynamicTest(c.name(), () -> {
            GoldenReport report = GoldenReport.compare(SafeTensors.read(c.expectedFile()), GoldenRunner.run(c, backend), 2e-4);
            assertTrue(report.failed() == 0 && !report.lines().isEmpty(), String.join("\n", report.format()));
        }));
    }
}
