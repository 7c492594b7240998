package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import mocoref.data.augment.AntialiasedResize;
import mocoref.data.augment.BilinearResize;
import mocoref.data.augment.ColorAdjust;
import mocoref.data.augment.ColorJitter;
import mocoref.data.augment.GaussianBlur;
import mocoref.data.augment.Grayscale;
import mocoref.data.augment.Image;
import mocoref.data.augment.Normalize;
import mocoref.data.augment.RandomHorizontalFlip;
import mocoref.data.augment.RandomResizedCrop;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import mocoref.testing.ErrorLog;

/**
 * Every augmentation's deterministic half against torchvision 0.14's tensor functions on fixed
 * parameters, from the files reference-tests/augment/make_augment_cases.py dumped. Tolerance: max
 * absolute error 1e-5 per case (the brief's). Both sides compute in float32 and differ only in
 * rounding order (a few ulps of values in [0,1], ~1e-7), except where a float32 comparison flips
 * a branch, which the tolerance would expose.
 */
class TorchvisionAugmentTest {
    static final double TOL = 1e-5;
    static final Path DIR = Path.of("reference-tests/augment");
    static final List<String> OPS = List.of("resized_crop", "resize_antialias", "hflip", "adjust_brightness",
            "adjust_contrast", "adjust_saturation", "adjust_hue", "color_jitter", "rgb_to_grayscale", "gaussian_blur",
            "normalize", "pil_grayscale");

    @Test
    void everyOpHasAFileWithCases() throws IOException {
        List<String> found;
        try (Stream<Path> s = Files.list(DIR)) {
            found = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors"))
                    .map(n -> n.substring(0, n.length() - ".safetensors".length())).sorted().toList();
        }
        assertEquals(OPS.stream().sorted().toList(), found);
        for (String op : OPS) {
            int cases = Integer.parseInt(SafeTensors.read(DIR.resolve(op + ".safetensors")).metadata().get("cases"));
            assertTrue(cases >= 5, op + " has only " + cases + " cases");
        }
    }

    @TestFactory
    Stream<DynamicTest> ops() {
        return OPS.stream().filter(op -> !op.equals("pil_grayscale"))
                .map(op -> DynamicTest.dynamicTest(op, () -> checkFloatOp(op)));
    }

    @Test
    void pilGrayscaleIsExact() {
        SafeTensorsFile f = SafeTensors.read(DIR.resolve("pil_grayscale.safetensors"));
        int cases = Integer.parseInt(f.metadata().get("cases"));
        for (int k = 0; k < cases; k++) {
            StoredTensor x = f.get("image." + (int) f.get(k + ".params").toDoubles()[0]);
            long[] rgb = x.toLongs();
            long[] expected = f.get(k + ".y").toLongs();
            int n = rgb.length / 3;
            for (int i = 0; i < n; i++) {
                int l = PilGrayscale.luma((int) rgb[i], (int) rgb[n + i], (int) rgb[2 * n + i]);
                assertEquals(expected[i], l, "case " + k + " pixel " + i);
            }
        }
    }

    private static void checkFloatOp(String op) {
        SafeTensorsFile f = SafeTensors.read(DIR.resolve(op + ".safetensors"));
        int cases = Integer.parseInt(f.metadata().get("cases"));
        double worst = 0;
        for (int k = 0; k < cases; k++) {
            double[] p = f.get(k + ".params").toDoubles();
            Image x = image(f.get("image." + (int) p[0]));
            double[] params = Arrays.copyOfRange(p, 1, p.length);
            StoredTensor y = f.get(k + ".y");
            Image actual = apply(op, x, params);
            int[] shape = y.shape();
            assertArrayEquals(shape, new int[] {actual.channels(), actual.height(), actual.width()},
                    op + " case " + k + ": shape");
            float[] expected = y.toFloats();
            double err = 0;
            for (int i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(expected[i] - actual.data()[i]));
            assertTrue(err <= TOL, op + " case " + k + " " + Arrays.toString(params) + ": max abs error " + err);
            worst = Math.max(worst, err);
        }
        ErrorLog.record("torchvision", op, worst);
    }

    private static Image apply(String op, Image x, double[] p) {
        return switch (op) {
            // Square outputs go through the transform itself, the others through the kernel it calls.
            case "resized_crop" -> p[4] == p[5]
                    ? RandomResizedCrop.moco((int) p[4]).apply(x, new RandomResizedCrop.Window((int) p[0], (int) p[1], (int) p[2], (int) p[3]))
                    : BilinearResize.resizeWindow(x, (int) p[0], (int) p[1], (int) p[2], (int) p[3], (int) p[4], (int) p[5]);
            case "resize_antialias" -> AntialiasedResize.resize(x, (int) p[0], (int) p[1]);
            case "hflip" -> RandomHorizontalFlip.hflip(x);
            case "adjust_brightness" -> ColorAdjust.brightness(x, p[0]);
            case "adjust_contrast" -> ColorAdjust.contrast(x, p[0]);
            case "adjust_saturation" -> ColorAdjust.saturation(x, p[0]);
            case "adjust_hue" -> ColorAdjust.hue(x, p[0]);
            case "color_jitter" -> ColorJitter.apply(x, new ColorJitter.Params(
                    new int[] {(int) p[4], (int) p[5], (int) p[6], (int) p[7]}, p[0], p[1], p[2], p[3]));
            case "rgb_to_grayscale" -> Grayscale.rgbToGrayscale(x, (int) p[0]);
            case "gaussian_blur" -> GaussianBlur.blur(x, (int) p[0], p[1]);
            case "normalize" -> new Normalize(Arrays.copyOfRange(p, 0, x.channels()),
                    Arrays.copyOfRange(p, x.channels(), 2 * x.channels())).apply(x);
            default -> throw new IllegalArgumentException(op);
        };
    }

    private static Image image(StoredTensor t) {
        int[] s = t.shape();
        return new Image(s[0], s[1], s[2], t.toFloats());
    }
}
