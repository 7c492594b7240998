package mocoref.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.testing.FuzzChecks;

/**
 * The IDX reader (images and labels file, raw or gzip) on any bytes in {@link FuzzLayout}: a
 * dataset, or a one-line MocoRefException naming a file; never another exception, an
 * out-of-memory on a declared size, or a hang. Regression inputs: src/test/resources/mocoref/data/IdxFuzzTestInputs/idx/.
 */
class IdxFuzzTest {
    static final Path IMAGES = FuzzLayout.DIR.resolve("train-images-idx3-ubyte");
    static final Path LABELS = FuzzLayout.DIR.resolve("train-labels-idx1-ubyte");

    @FuzzTest
    void idx(byte[] input) {
        byte[][] files = FuzzLayout.files(input);
        try {
            IdxFiles.decode(FuzzLayout.DIR, Split.TRAIN, IMAGES, FileBytes.decode(IMAGES, files[0]), LABELS,
                    FileBytes.decode(LABELS, files[1]), FuzzLayout.preparation(input));
        } catch (MocoRefException e) {
            FuzzChecks.oneLineNaming(e, IMAGES, LABELS, FuzzLayout.DIR);
        }
    }
}
