package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The cpu kernels give the same bits interpreted and compiled: checked in a fresh JVM (in this
 * one, other tests have already compiled them), on the JDK running the tests.
 */
class KernelJitDeterminismTest {
    @Test
    void coldAndWarmKernelsAgreeBitForBit() throws IOException, InterruptedException {
        String out = FreshJvm.run(KernelWarmupCheck.class);
        String line = out.lines().filter(l -> l.contains(" results ")).findFirst().orElse("");
        assertTrue(line.endsWith(" differ 0") && line.startsWith("vector"), "expected the vector kernels, no result differing: " + out);
        assertTrue(List.of(line.split(" ")).contains("1052"), line);
    }
}
