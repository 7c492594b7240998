package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The compiled cpu kernels allocate nothing, also after the linear probe has run in the same JVM
 * (as the raw-pixel baseline runs before training): checked in a fresh JVM, with the machine's
 * widest vectors and as an AVX2 machine.
 */
class VectorBoxingTest {
    @ParameterizedTest
    @ValueSource(strings = {"native", "-XX:UseAVX=2"})
    void kernelsKeepTheirVectorsInRegistersAfterTheProbe(String isa) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector",
                "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0"));
        if (!isa.equals("native")) command.add(isa);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), VectorBoxingCheck.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        String line = out.lines().filter(l -> l.contains(" bytes per call ")).findFirst().orElse("");
        assertTrue(line.startsWith("vector"), "expected the vector kernels: " + out);
        long bytes = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
        // A vector boxed in the loops costs about 100 bytes a trip, and a call runs 256 (reluGradSums)
        // and 144 (the tile): 256 KB a call with the probe's 256-bit floats beside 512-bit kernels.
        // Compiled, a call allocates 0-80 bytes (one box, outside reluGradSums' loop).
        assertTrue(bytes < 1024, "the compiled kernels allocate " + bytes + " bytes a call (boxed vectors): " + line);
    }
}
