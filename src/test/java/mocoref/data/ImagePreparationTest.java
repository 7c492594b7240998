package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.SplittableRandom;
import mocoref.data.augment.AntialiasedResize;
import mocoref.data.augment.Image;
import org.junit.jupiter.api.Test;

/** torchvision's Resize(size) + CenterCrop(size) arithmetic, on top of the resize that TorchvisionAugmentTest checks. */
class ImagePreparationTest {
    @Test
    void wideImageScalesItsHeightAndCropsTheMiddleColumns() {
        Image x = SyntheticData.randomImage(new SplittableRandom(1), 3, 20, 45);
        Image y = ImagePreparation.resizeShorterSideAndCenterCrop(x, 8);
        // int(8 * 45 / 20) = 18 columns; crop left = round((18 - 8) / 2) = 5.
        Image full = AntialiasedResize.resize(x, 8, 18);
        assertEquals("3x8x8", y.dims());
        for (int c = 0; c < 3; c++) {
            for (int r = 0; r < 8; r++) {
                for (int col = 0; col < 8; col++) {
                    assertEquals(full.data()[(c * 8 + r) * 18 + 5 + col], y.data()[(c * 8 + r) * 8 + col]);
                }
            }
        }
    }

    @Test
    void tallImageRoundsTheCropOffsetHalfToEven() {
        Image x = SyntheticData.randomImage(new SplittableRandom(2), 1, 33, 10);
        Image y = ImagePreparation.resizeShorterSideAndCenterCrop(x, 6);
        // int(6 * 33 / 10) = 19 rows; crop top = round(13 / 2) = round(6.5) = 6 (Python rounds halves to even).
        Image full = AntialiasedResize.resize(x, 19, 6);
        float[] expected = new float[36];
        System.arraycopy(full.data(), 6 * 6, expected, 0, 36);
        assertArrayEquals(expected, y.data());
    }

    @Test
    void squareImageIsJustResizedAndSameSizeIsUntouched() {
        Image x = SyntheticData.randomImage(new SplittableRandom(3), 1, 12, 12);
        assertArrayEquals(AntialiasedResize.resize(x, 5, 5).data(), ImagePreparation.resizeShorterSideAndCenterCrop(x, 5).data());
        assertSame(x, AntialiasedResize.resize(x, 12, 12));
    }
}
