package mocoref.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.util.List;
import mocoref.MocoRefException;
import mocoref.testing.FuzzChecks;

/**
 * The CIFAR-10/-100 binary reader on any two batch files in {@link FuzzLayout}: a dataset, or a
 * one-line MocoRefException naming a file. Regression inputs: src/test/resources/mocoref/data/CifarFuzzTestInputs/cifar/.
 */
class CifarFuzzTest {
    static final List<Path> FILES = List.of(FuzzLayout.DIR.resolve("data_batch_1.bin"), FuzzLayout.DIR.resolve("data_batch_2.bin"));

    @FuzzTest
    void cifar(byte[] input) {
        CifarBinary.Kind kind = FuzzLayout.bit5(input) ? CifarBinary.Kind.CIFAR100 : CifarBinary.Kind.CIFAR10;
        try {
            CifarBinary.decode(FuzzLayout.DIR, kind, Split.TRAIN, FILES, List.of(FuzzLayout.files(input)), FuzzLayout.preparation(input));
        } catch (MocoRefException e) {
            FuzzChecks.oneLineNaming(e, FILES.get(0), FILES.get(1), FuzzLayout.DIR);
        }
    }
}
