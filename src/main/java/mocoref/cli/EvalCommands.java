package mocoref.cli;

import java.io.PrintWriter;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.data.Dataset;
import mocoref.data.augment.Normalize;
import mocoref.eval.FeatureExtractor;

/** What the evaluation commands share beyond their options. */
final class EvalCommands {
    private EvalCommands() {}

    /** Features of {@code data}, saying how long they took. */
    static FeatureExtractor.Features extract(Encoder encoder, Dataset data, Normalize normalize, int batchSize, PrintWriter out) {
        long t0 = System.nanoTime();
        FeatureExtractor.Features f = FeatureExtractor.extract(encoder, data, normalize, batchSize);
        out.printf("features: %s, %d images in %.1f s%n", data.name(), data.n(), (System.nanoTime() - t0) / 1e9);
        out.flush();
        return f;
    }

    /** {@code v} to 4 significant digits without trailing zeros: 30, 3, 0.3, 0.0003. */
    static String number(double v) {
        String s = String.format(java.util.Locale.ROOT, "%.4g", v);
        if (s.contains("e") || !s.contains(".")) return s;
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    static void checkSameClasses(Dataset train, Dataset test) {
        if (!train.classes().equals(test.classes())) {
            throw new MocoRefException(test.name() + ": its " + test.numClasses() + " classes differ from the training split's "
                    + train.numClasses());
        }
    }
}
