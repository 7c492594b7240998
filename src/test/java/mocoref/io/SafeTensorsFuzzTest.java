package mocoref.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.testing.FuzzChecks;

/**
 * The safetensors reader on any bytes (a file in memory): it returns, or throws a one-line
 * SafeTensorsException naming the file; never another exception, an out-of-memory on a declared
 * size, or a read past what the header was checked against (an IOException from memory).
 * Regression inputs: src/test/resources/mocoref/io/SafeTensorsFuzzTestInputs/read/.
 */
class SafeTensorsFuzzTest {
    static final Path FILE = Path.of("fuzzed.safetensors");

    @FuzzTest
    void read(byte[] bytes) throws IOException {
        SafeTensorsFile f;
        try {
            f = SafeTensors.read(FILE, new BytesChannel(bytes));
        } catch (MocoRefException e) {
            FuzzChecks.oneLineNaming(e, FILE);
            return;
        }
        for (StoredTensor t : f.tensors().values()) {
            assertEquals(t.numel(), t.toDoubles().length);
        }
    }
}
