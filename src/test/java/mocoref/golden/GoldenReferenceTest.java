package mocoref.golden;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import mocoref.io.SafeTensors;
import mocoref.reference.ReferenceBackend;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The reference backend against every committed golden case (made by PyTorch float64 from the
 * spec): every tensor of expected.safetensors within 1e-9 relative, the float64 tolerance of
 * {@code moco-ref golden verify}.
 */
class GoldenReferenceTest {
    static final Path CASES = Path.of("reference-tests/cases");

    static List<Path> cases() throws IOException {
        try (Stream<Path> s = Files.list(CASES)) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    @Test
    void atLeastEightCases() throws IOException {
        assertTrue(cases().size() >= 8, "cases: " + cases());
    }

    @TestFactory
    Stream<DynamicTest> referenceMatchesPyTorch() throws IOException {
        return cases().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            GoldenCase c = GoldenCase.load(dir);
            GoldenReport report = GoldenReport.compare(SafeTensors.read(c.expectedFile()),
                    GoldenRunner.run(c, new ReferenceBackend()), 1e-9);
            assertTrue(report.failed() == 0 && !report.lines().isEmpty(), String.join("\n", report.format()));
        }));
    }
}
