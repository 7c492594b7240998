package mocoref.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import mocoref.data.augment.Image;
import mocoref.data.augment.Normalize;
import org.junit.jupiter.api.Test;

/** The in-memory dataset: validation, per-channel statistics, normalization and selection. */
class DatasetTest {
    /** Two 2-channel 1x2 images: channel 0 holds 0,1 | 1,0, channel 1 is constant 0.5. */
    static Dataset tiny() {
        float[] images = {0, 1, 0.5f, 0.5f, 1, 0, 0.5f, 0.5f};
        return new Dataset("tiny", images, new int[] {1, 0}, 2, 2, 1, 2, List.of("x", "y"));
    }

    @Test
    void statisticsAndNormalization() {
        Dataset d = tiny();
        assertArrayEquals(new double[] {0.5, 0.5}, d.channelMean(), 1e-12);
        assertArrayEquals(new double[] {0.5, 0.0}, d.channelStd(), 1e-12);
        Normalize n = d.normalization();
        assertArrayEquals(new double[] {0.5, 1.0}, n.std(), 1e-7, "a constant channel divides by 1");
        Image x = n.apply(d.image(0));
        assertArrayEquals(new float[] {-1, 1, 0, 0}, x.data());
    }

    @Test
    void selectCopiesImagesAndLabelsInTheGivenOrder() {
        Dataset s = tiny().select(new int[] {1, 1, 0}, "s");
        assertEquals(3, s.n());
        assertArrayEquals(new int[] {0, 0, 1}, s.labels());
        assertArrayEquals(tiny().image(1).data(), s.image(0).data());
        assertArrayEquals(tiny().image(0).data(), s.image(2).data());
    }

    @Test
    void inconsistentDatasetsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Dataset("d", new float[3], new int[] {0}, 1, 1, 2, 2, List.of("a")));
        assertThrows(IllegalArgumentException.class, () -> new Dataset("d", new float[4], new int[] {1}, 1, 1, 2, 2, List.of("a")));
        assertThrows(IllegalArgumentException.class, () -> new Dataset("d", new float[4], new int[] {0, 0}, 1, 1, 2, 2, List.of("a")));
    }
}
