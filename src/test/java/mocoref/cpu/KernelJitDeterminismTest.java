package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The cpu kernels give the same bits interpreted and compiled: checked in a fresh JVM (in this
 * one, other tests have already compiled them), on the JDK running the tests.
 */
class KernelJitDeterminismTest {
    @Test
    void coldAndWarmKernelsAgreeBitForBit() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), KernelWarmupCheck.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        String line = out.lines().filter(l -> l.contains(" results ")).findFirst().orElse("");
        assertTrue(line.endsWith(" differ 0") && line.startsWith("vector"), "expected the vector kernels, no result differing: " + out);
        assertTrue(List.of(line.split(" ")).contains("1052"), line);
    }
}
