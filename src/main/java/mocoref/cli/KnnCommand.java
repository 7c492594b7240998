package mocoref.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.data.Dataset;
import mocoref.data.Split;
import mocoref.data.augment.Normalize;
import mocoref.eval.CheckpointModel;
import mocoref.eval.FeatureExtractor;
import mocoref.eval.Knn;
import mocoref.eval.KnnResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code moco-ref knn}: the official CIFAR demo's kNN monitor on a checkpoint: the training split's
 * features are the memory bank, the test split's the queries (both eval mode, normalized, not
 * augmented).
 */
@Command(name = "knn", description = "kNN accuracy of a checkpoint's features.")
public final class KnnCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Mixin
    EvalModelOptions model;

    @Mixin
    EvalDataOptions data;

    @Option(names = "--k", defaultValue = "200", description = "neighbours that vote (default: ${DEFAULT-VALUE})")
    int k;

    @Option(names = "--t", defaultValue = "0.1", description = "temperature of the vote weights exp(sim/t) (default: ${DEFAULT-VALUE})")
    double t;

    @Option(names = "--embedding",
            description = "vote with the head's output, as the demo's monitor does, instead of the global-pooled backbone features")
    boolean embedding;

    @Option(names = "--batch-size", defaultValue = "256", description = "images per forward pass (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Override
    public void checkOptions(ParseResult parsed) {
        OptionRules.atLeast("--k", k, 1);
        OptionRules.positive("--t", t);
        OptionRules.atLeast("--batch-size", batchSize, 1);
    }

    @Override
    public Integer call() {
        data.checkPaths();
        PrintWriter out = spec.commandLine().getOut();
        CheckpointModel m = model.load();
        if (embedding && !m.hasHead()) throw new MocoRefException(m.path() + ": --embedding, but the file has no head (an exported backbone?)");
        out.println("checkpoint: " + m.path() + " (" + m.format() + "): " + m.describe());
        Dataset train = data.load(m, Split.TRAIN);
        Dataset test = data.load(m, Split.TEST);
        EvalCommands.checkSameClasses(train, test);
        Normalize normalize = data.normalization(m, train, out);
        Encoder encoder = m.encoder(model.backend());
        FeatureExtractor.Features bank = EvalCommands.extract(encoder, train, normalize, batchSize, out);
        FeatureExtractor.Features queries = EvalCommands.extract(encoder, test, normalize, batchSize, out);
        int dim = embedding ? bank.dim() : bank.featureDim();
        long t0 = System.nanoTime();
        KnnResult r = Knn.evaluate(embedding ? bank.embeddings() : bank.features(), bank.labels(),
                embedding ? queries.embeddings() : queries.features(), queries.labels(), dim, train.numClasses(), k, t,
                model.threads());
        double seconds = (System.nanoTime() - t0) / 1e9;
        out.printf("kNN (k %d, t %s, %s, %d-d): top-1 %.2f%%  top-5 %.2f%%  (%d test images against %d; %.1f s)%n", k, t,
                embedding ? "head output" : "backbone features", dim, 100 * r.top1(), 100 * r.top5(), test.n(), train.n(), seconds);
        out.flush();
        return 0;
    }
}
