package mocoref.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
        String oobCheckOff = "-Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0";
        String out = isa.equals("native") ? FreshJvm.run(VectorBoxingCheck.class, oobCheckOff)
                : FreshJvm.run(VectorBoxingCheck.class, oobCheckOff, isa);
        String line = out.lines().filter(l -> l.contains(" bytes per call ")).findFirst().orElse("");
        assertTrue(line.startsWith("vector"), "expected the vector kernels: " + out);
        long bytes = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
        // A vector boxed in the loops costs about 100 bytes a trip, and a call runs 256 (reluGradSums)
        // and 144 (the tile): 256 KB a call with the probe's 256-bit floats beside 512-bit kernels.
        // Compiled, a call allocated 80 bytes with 512-bit vectors and 48 with 256-bit ones; with the
        // gathers in the loop 160 and 144 (their index maps, one small int[] a transpose).
        assertTrue(bytes < 1024, "the compiled kernels allocate " + bytes + " bytes a call (boxed vectors): " + line);
    }
}
