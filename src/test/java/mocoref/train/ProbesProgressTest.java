package mocoref.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import mocoref.eval.FeatureExtractor;
import org.junit.jupiter.api.Test;

/** The linear probe reports progress by epoch, so that its ETA moves during the long final training, and ends at 100%. */
class ProbesProgressTest {
    @Test
    void everyEpochOfEveryTryAndOfTheFinalTrainingIsAUnitOfProgress() {
        int n = 60, d = 3;
        SplittableRandom rng = new SplittableRandom(5);
        float[] x = new float[n * d];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 2;
            for (int c = 0; c < d; c++) x[i * d + c] = (float) (rng.nextGaussian() + (labels[i] == 0 ? -2 : 2));
        }
        FeatureExtractor.Features f = new FeatureExtractor.Features(x, null, labels, n, d, 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Progress p = Progress.lines("probe", Probes.linearSteps(), new PrintStream(out, true, StandardCharsets.UTF_8))) {
            Probes.linear(f, f, 2, 1, 1, p);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        int total = Probes.linearSteps();
        assertTrue(text.contains("probe: " + total + "/" + total + " (100%)"), "the last unit is the final training's last epoch: " + text);
        assertTrue(total > 100, "epochs, not tries, are the units: " + total);
    }
}
