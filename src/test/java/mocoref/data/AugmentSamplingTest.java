package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import mocoref.MocoRefException;
import mocoref.data.augment.AugmentPresets;
import mocoref.data.augment.ColorJitter;
import mocoref.data.augment.Compose;
import mocoref.data.augment.GaussianBlur;
import mocoref.data.augment.Image;
import mocoref.data.augment.Normalize;
import mocoref.data.augment.RandomApply;
import mocoref.data.augment.RandomGrayscale;
import mocoref.data.augment.RandomHorizontalFlip;
import mocoref.data.augment.RandomResizedCrop;
import org.junit.jupiter.api.Test;

/**
 * The random halves of the augmentations: the ranges and rules torchvision samples by, and
 * determinism under a seed. Rates are checked over {@value #RATE_DRAWS} seeded draws within five
 * standard deviations of the binomial rate ({@link #assertRate}: 0.004 at p = 0.5), so a correct
 * sampler passes and one off by 0.02 (a flip at 0.48) fails by 25 deviations.
 */
class AugmentSamplingTest {
    static final int DRAWS = 20_000;
    static final int RATE_DRAWS = 400_000;

    /** {@code count} of {@code n} draws is a rate within 5 binomial standard deviations of {@code p}. */
    static void assertRate(double p, int count, int n, String what) {
        double sigma = Math.sqrt(p * (1 - p) / n);
        assertEquals(p, count / (double) n, 5 * sigma, what + ": " + count + " of " + n);
    }

    @Test
    void randomResizedCropStaysInsideAndWithinScaleAndRatio() {
        RandomResizedCrop crop = RandomResizedCrop.moco(24);
        SplittableRandom rng = new SplittableRandom(1);
        int h = 40;
        int w = 50;
        for (int i = 0; i < DRAWS; i++) {
            RandomResizedCrop.Window c = crop.sample(rng, h, w);
            assertTrue(c.top() >= 0 && c.left() >= 0 && c.top() + c.height() <= h && c.left() + c.width() <= w, c.toString());
            if (c.height() == h && c.width() == w) continue; // possibly the fallback
            double area = (double) c.height() * c.width() / (h * w);
            double ratio = (double) c.width() / c.height();
            // Rounding the sides to integers moves area and ratio a little beyond the sampled ranges.
            assertTrue(area > 0.2 * 0.85 && area <= 1.0, "area " + area);
            assertTrue(ratio > 0.75 * 0.9 && ratio < 4.0 / 3 / 0.9, "ratio " + ratio);
        }
    }

    @Test
    void randomResizedCropFallsBackToACentredCropClampedToTheRatio() {
        RandomResizedCrop crop = RandomResizedCrop.moco(8);
        // A 1x100 strip: no sampled ratio fits, so every draw falls back: height 1, width round(1 * 4/3) = 1.
        RandomResizedCrop.Window c = crop.sample(new SplittableRandom(2), 1, 100);
        assertEquals(new RandomResizedCrop.Window(0, 49, 1, 1), c);
        // A 100x10 column: width 10, height round(10 / (3/4)) = 13, centred.
        c = crop.sample(new SplittableRandom(3), 100, 10);
        assertEquals(new RandomResizedCrop.Window(43, 0, 13, 10), c);
    }

    @Test
    void flipGrayscaleAndRandomApplyRates() {
        SplittableRandom rng = new SplittableRandom(4);
        RandomHorizontalFlip flip = new RandomHorizontalFlip();
        RandomGrayscale grey = new RandomGrayscale(0.2);
        RandomApply apply = new RandomApply(0.8, (x, r) -> x);
        int flips = 0;
        int greys = 0;
        int applied = 0;
        for (int i = 0; i < RATE_DRAWS; i++) {
            if (flip.sample(rng)) flips++;
            if (grey.sample(rng)) greys++;
            if (apply.sample(rng)) applied++;
        }
        assertRate(0.5, flips, RATE_DRAWS, "flip");
        assertRate(0.2, greys, RATE_DRAWS, "grayscale");
        assertRate(0.8, applied, RATE_DRAWS, "random apply");
        assertTrue(!new RandomApply(0, (x, r) -> x).sample(new SplittableRandom(5)));
    }

    @Test
    void colorJitterDrawsAPermutationAndFactorsInTorchvisionsRanges() {
        ColorJitter jitter = new ColorJitter(0.4, 0.4, 0.4, 0.1);
        SplittableRandom rng = new SplittableRandom(6);
        int[] firstCounts = new int[4];
        for (int i = 0; i < DRAWS; i++) {
            ColorJitter.Params p = jitter.sample(rng);
            int[] sorted = p.order();
            firstCounts[sorted[0]]++;
            Arrays.sort(sorted);
            assertArrayEquals(new int[] {0, 1, 2, 3}, sorted);
            for (double f : new double[] {p.brightness(), p.contrast(), p.saturation()}) assertTrue(f >= 0.6 && f <= 1.4, "factor " + f);
            assertTrue(p.hue() >= -0.1 && p.hue() <= 0.1, "hue " + p.hue());
        }
        for (int c : firstCounts) assertRate(0.25, c, DRAWS, "first transform of the jitter");

        ColorJitter.Params off = new ColorJitter(0.4, 0.4, 0, 0).sample(new SplittableRandom(7));
        assertTrue(Double.isNaN(off.saturation()) && Double.isNaN(off.hue()));
        assertTrue(off.brightness() >= 0.6 && off.brightness() <= 1.4);
        // A strength above 1 clips the lower bound at 0, as torchvision does.
        assertTrue(new ColorJitter(1.5, 0, 0, 0).sample(new SplittableRandom(8)).brightness() >= 0);
    }

    @Test
    void disabledJitterLeavesTheImageAlone() {
        Image x = SyntheticData.randomImage(new SplittableRandom(9), 3, 5, 4);
        ColorJitter.Params none = new ColorJitter.Params(new int[] {3, 2, 1, 0}, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        assertSame(x, ColorJitter.apply(x, none));
    }

    @Test
    void blurKernelIsAboutATenthOfTheImageAndOdd() {
        assertEquals(23, GaussianBlur.kernelSizeFor(224));
        assertEquals(3, GaussianBlur.kernelSizeFor(28));
        assertEquals(3, GaussianBlur.kernelSizeFor(32));
        assertEquals(7, GaussianBlur.kernelSizeFor(64));
        assertEquals(9, GaussianBlur.kernelSizeFor(96));
        double s = new GaussianBlur(3, 0.1, 2.0).sample(new SplittableRandom(10));
        assertTrue(s >= 0.1 && s <= 2.0);
    }

    @Test
    void presetsMakeFixedSizeViewsAndAreSeeded() {
        Image rgb = SyntheticData.randomImage(new SplittableRandom(11), 3, 37, 29);
        Image grey = SyntheticData.randomImage(new SplittableRandom(12), 1, 28, 28);
        Normalize n3 = Normalize.imagenet();
        Normalize n1 = new Normalize(new double[] {0.286}, new double[] {0.353});
        for (String name : AugmentPresets.NAMES) {
            Compose p3 = AugmentPresets.byName(name, 24, n3);
            Compose p1 = AugmentPresets.byName(name, 28, n1);
            Image a = p3.apply(rgb, new SplittableRandom(13));
            Image b = p3.apply(rgb, new SplittableRandom(13));
            Image c = p3.apply(rgb, new SplittableRandom(14));
            assertEquals("3x24x24", a.dims(), name);
            assertArrayEquals(a.data(), b.data(), name + ": same seed, same view");
            assertTrue(!Arrays.equals(a.data(), c.data()), name + ": another seed, another view");
            assertEquals("1x28x28", p1.apply(grey, new SplittableRandom(15)).dims(), name);
        }
        String m = assertThrows(MocoRefException.class, () -> AugmentPresets.byName("v3", 24, n3)).getMessage();
        assertTrue(m.contains("unknown 'v3' (expected v1, v2, fashion)"), m);
    }

    @Test
    void transformsDoNotWriteIntoTheirInput() {
        Image x = SyntheticData.randomImage(new SplittableRandom(16), 3, 30, 30);
        float[] before = x.data().clone();
        for (int seed = 0; seed < 50; seed++) AugmentPresets.v2(16, Normalize.imagenet()).apply(x, new SplittableRandom(seed));
        assertArrayEquals(before, x.data());
        assertNotEquals(0, before.length);
    }
}
