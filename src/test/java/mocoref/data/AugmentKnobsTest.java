package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import mocoref.MocoRefException;
import mocoref.data.augment.AugmentPresets;
import mocoref.data.augment.Image;
import mocoref.data.augment.RandomErasing;
import org.junit.jupiter.api.Test;

/** The fashion recipe's knobs and torchvision's RandomErasing. */
class AugmentKnobsTest {
    @Test
    void knobsParseWithTheirRangesAndUnknownOnesAreRefused() {
        assertEquals(Map.of("crop", 0.5, "erase", 0.25), AugmentPresets.parse("fashion:crop=0.5,erase=0.25"));
        assertEquals(Map.of(), AugmentPresets.parse("v2"));
        assertTrue(assertThrows(MocoRefException.class, () -> AugmentPresets.parse("fashion:zoom=2")).getMessage().contains("zoom=2"));
        assertTrue(assertThrows(MocoRefException.class, () -> AugmentPresets.parse("fashion:crop=0")).getMessage().contains("crop must be in"));
        assertTrue(assertThrows(MocoRefException.class, () -> AugmentPresets.parse("v1:crop=0.5")).getMessage().contains("only fashion"));
    }

    @Test
    void erasingFillsOneRectangleOfTheGivenAreaWithZeros() {
        int h = 28, w = 28;
        float[] ones = new float[h * w];
        java.util.Arrays.fill(ones, 1f);
        Image image = new Image(1, h, w, ones);
        RandomErasing erase = new RandomErasing(1.0);
        SplittableRandom rng = new SplittableRandom(3);
        int erasedImages = 0;
        for (int t = 0; t < 2000; t++) {
            Image out = erase.apply(image, rng);
            int zeros = 0, minI = h, maxI = -1, minJ = w, maxJ = -1;
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    if (out.data()[i * w + j] == 0f) {
                        zeros++;
                        minI = Math.min(minI, i);
                        maxI = Math.max(maxI, i);
                        minJ = Math.min(minJ, j);
                        maxJ = Math.max(maxJ, j);
                    }
                }
            }
            if (zeros == 0) continue;
            erasedImages++;
            assertEquals((maxI - minI + 1) * (maxJ - minJ + 1), zeros, "one filled rectangle");
            assertTrue(zeros >= 0.02 * h * w * 0.5 && zeros <= 0.33 * h * w * 1.6, "area " + zeros);
        }
        assertTrue(erasedImages > 1800, "p 1 erases nearly always (ten tries to fit): " + erasedImages);
        assertEquals(image, new RandomErasing(0.0).apply(image, rng));
    }
}
