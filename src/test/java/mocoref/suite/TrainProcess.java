package mocoref.suite;

import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Path;
import mocoref.data.Dataset;
import mocoref.data.Datasets;
import mocoref.data.Split;
import mocoref.model.ResNetConfig;
import mocoref.registry.Backends;
import mocoref.train.Checkpoint;
import mocoref.train.TrainConfig;
import mocoref.train.Trainer;

/**
 * Run in a fresh JVM by {@link BackendSuiteTest}: trains the suite's tiny configuration on the
 * synthetic IDX data in {@code data} into {@code out} until epoch {@code until}, from scratch or
 * resumed from {@code out}'s last checkpoint.
 *
 * <pre>TrainProcess BACKEND THREADS DATA OUT UNTIL fresh|resume</pre>
 */
public final class TrainProcess {
    private TrainProcess() {}

    static TrainConfig config(Dataset train, String data) {
        ResNetConfig model = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 16, true);
        return new TrainConfig(model, 16, 64, 0.99, 0.1, 2, false, true, 0.06, 0.9, 5e-4, true, new int[0], 2, 16,
                "fashion", 7, data, 0, 5, 0.1, train.channelMean(), train.channelStd());
    }

    public static void main(String[] args) {
        String backend = args[0];
        int threads = Integer.parseInt(args[1]);
        Path data = Path.of(args[2]), out = Path.of(args[3]);
        int until = Integer.parseInt(args[4]);
        boolean resume = args[5].equals("resume");
        Dataset train = Datasets.load(data, Split.TRAIN, 16, 1);
        Dataset test = Datasets.load(data, Split.TEST, 16, 1);
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        Checkpoint from = resume ? Checkpoint.read(out.resolve("checkpoint_last.safetensors")) : null;
        TrainConfig cfg = from != null ? from.config() : config(train, data.toString());
        new Trainer(cfg, Backends.byName(backend, threads), threads, out, quiet, false).run(train, test, from, until);
    }
}
