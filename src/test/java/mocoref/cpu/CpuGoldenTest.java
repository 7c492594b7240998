package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import mocoref.golden.GoldenCase;
import mocoref.golden.GoldenReport;
import mocoref.golden.GoldenRunner;
import mocoref.io.SafeTensors;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The cpu backend against every golden case that holds float32 backends (case.json's
 * {@code float32.held}), through GoldenRunner and GoldenReport as {@code moco-ref golden verify
 * --backend cpu} does: every tensor within 2e-4 relative, the float32 tolerance, on 1 and 2 threads.
 */
class CpuGoldenTest {
    static final Path CASES = Path.of("reference-tests/cases");
    static final double TOLERANCE = 2e-4;

    static List<GoldenCase> heldCases() throws IOException {
        try (Stream<Path> s = Files.list(CASES)) {
            return s.filter(Files::isDirectory).sorted().map(GoldenCase::load).filter(GoldenCase::float32Held).toList();
        }
    }

    @Test
    void eightCasesAreHeld() throws IOException {
        assertEquals(8, heldCases().size(), "held cases: " + heldCases().stream().map(GoldenCase::name).toList());
    }

    @TestFactory
    Stream<DynamicTest> cpuMatchesPyTorch() throws IOException {
        return heldCases().stream().flatMap(c -> Stream.of(1, 2).map(threads ->
                DynamicTest.dynamicTest(c.name() + " threads=" + threads, () -> {
                    GoldenReport report = GoldenReport.compare(SafeTensors.read(c.expectedFile()),
                            GoldenRunner.run(c, new CpuBackend(threads)), TOLERANCE);
                    assertTrue(report.failed() == 0 && !report.lines().isEmpty(), String.join("\n", report.format()));
                })));
    }
}
