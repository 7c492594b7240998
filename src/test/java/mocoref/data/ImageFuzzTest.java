package mocoref.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.testing.FuzzChecks;

/**
 * One ImageFolder image (PNG, JPEG, GIF, BMP, TIFF, WBMP through javax.imageio) on any bytes,
 * decoded and prepared as a dataset image: pixels, or a one-line MocoRefException naming the
 * file; never a decoder's internal exception, an out-of-memory on a declared size, or a hang.
 * Regression inputs: src/test/resources/mocoref/data/ImageFuzzTestInputs/image/.
 */
class ImageFuzzTest {
    static final Path IMAGE = FuzzLayout.DIR.resolve("class/image.png");

    @FuzzTest
    void image(byte[] input) {
        try {
            ImageDecoding.Pixels p = ImageDecoding.decode(IMAGE, input);
            ImagePreparation prep = new ImagePreparation(p.channels() == 1 ? 3 : 1, 8);
            prep.prepare(p.data(), 0, p.channels(), p.height(), p.width(), new float[prep.channels() * 64], 0);
        } catch (MocoRefException e) {
            FuzzChecks.oneLineNaming(e, IMAGE);
        }
    }
}
