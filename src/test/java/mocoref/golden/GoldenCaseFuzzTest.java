package mocoref.golden;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.testing.FuzzChecks;

/**
 * The golden case reader on any case.json bytes: it returns a validated case, or throws a one-line
 * MocoRefException naming the file. Regression inputs (the committed cases' case.json among them):
 * src/test/resources/mocoref/golden/GoldenCaseFuzzTestInputs/parse/.
 */
class GoldenCaseFuzzTest {
    static final Path DIR = Path.of("fuzzed-case");
    static final Path FILE = DIR.resolve("case.json");

    @FuzzTest
    void parse(byte[] json) {
        try {
            GoldenCase.parse(DIR, FILE, json);
        } catch (MocoRefException e) {
            FuzzChecks.oneLineNaming(e, FILE);
        }
    }
}
