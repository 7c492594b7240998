package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import mocoref.backend.Encoder;
import mocoref.data.Dataset;
import mocoref.data.augment.Normalize;
import org.junit.jupiter.api.Test;

class FeatureExtractorTest {
    @Test
    void everyImageOnceInOrderNormalizedWithAPartialLastBatch() {
        int n = 10;
        float[] images = new float[n * 4];
        for (int i = 0; i < images.length; i++) images[i] = i / 40f;
        Dataset data = new Dataset("ten", images, new int[n], n, 1, 2, 2, List.of("x"));
        Normalize norm = new Normalize(new double[] {0.5}, new double[] {0.25});
        List<Integer> sizes = new ArrayList<>();
        Encoder sum = batch -> {
            int b = batch.n();
            sizes.add(b);
            float[] f = new float[b];
            float[] e = new float[b * 2];
            for (int i = 0; i < b; i++) {
                for (int p = 0; p < 4; p++) f[i] += batch.floats()[i * 4 + p];
                e[2 * i] = f[i];
                e[2 * i + 1] = -f[i];
            }
            return new Encoder.Encoded(f, e, b, 1, 2);
        };
        FeatureExtractor.Features out = FeatureExtractor.extract(sum, data, norm, 4);
        assertEquals(List.of(4, 4, 2), sizes);
        assertEquals(1, out.featureDim());
        assertEquals(2, out.dim());
        for (int i = 0; i < n; i++) {
            float expected = 0;
            for (int p = 0; p < 4; p++) expected += (images[i * 4 + p] - 0.5f) / 0.25f;
            assertEquals(expected, out.features()[i], 1e-5, "image " + i);
            assertEquals(-expected, out.embeddings()[2 * i + 1], 1e-5);
        }
        assertArrayEquals(data.labels(), out.labels());
    }

    @Test
    void anEncoderWithoutHeadGivesNoEmbeddings() {
        Dataset data = new Dataset("one", new float[4], new int[1], 1, 1, 2, 2, List.of("x"));
        Encoder headless = batch -> new Encoder.Encoded(new float[] {1}, null, 1, 1, 0);
        assertNull(FeatureExtractor.extract(headless, data, new Normalize(new double[] {0}, new double[] {1}), 8).embeddings());
    }
}
