package mocoref.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import mocoref.data.Dataset;
import mocoref.data.Datasets;
import mocoref.data.Split;
import mocoref.data.SyntheticData;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run stopped after epoch 1 and resumed from its checkpoint ends bit for bit where an
 * uninterrupted run ends: every tensor of the final checkpoint, and every metrics line.
 * Trains a tiny model for a few steps on synthetic IDX data.
 */
class TrainerResumeTest {
    @TempDir
    Path tmp;

    /** A tiny run: width 4, one block per stage, 16 px, batch 16, K 64, two epochs of the train split in {@code data}. */
    static TrainConfig config(Dataset train, Path data) {
        ResNetConfig model = new ResNetConfig(ResNetConfig.Block.BASIC, new int[] {1, 1, 1, 1}, 4, 1, ResNetConfig.Stem.CIFAR, 16, true);
        return new TrainConfig(model, 16, 64, 0.99, 0.1, 2, false, true, 0.06, 0.9, 5e-4, true, new int[0], 2, 16,
                "fashion", 7, data.toString(), 0, 5, 0.1, train.channelMean(), train.channelStd());
    }

    @Test
    void resumedRunEndsBitForBitWhereTheUninterruptedRunEnds() throws Exception {
        SyntheticData.writeIdx(tmp.resolve("data"), 64, 24, 28, 28, true, 3);
        Dataset train = Datasets.load(tmp.resolve("data"), Split.TRAIN, 16, 1);
        Dataset test = Datasets.load(tmp.resolve("data"), Split.TEST, 16, 1);
        TrainConfig cfg = config(train, tmp.resolve("data"));
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

        Path straight = tmp.resolve("straight");
        new Trainer(cfg, mocoref.registry.Backends.byName("cpu", 2), 2, straight, quiet, false).run(train, test, null);

        Path interrupted = tmp.resolve("interrupted");
        new Trainer(cfg, mocoref.registry.Backends.byName("cpu", 2), 2, interrupted, quiet, false).run(train, test, null, 1);
        Checkpoint afterOne = Checkpoint.read(interrupted.resolve("checkpoint_last.safetensors"));
        assertEquals(1, afterOne.epoch());
        new Trainer(afterOne.config(), mocoref.registry.Backends.byName("cpu", 2), 2, interrupted, quiet, false).run(train, test, afterOne);

        Map<String, StoredTensor> a = SafeTensors.read(straight.resolve("checkpoint_last.safetensors")).tensors();
        Map<String, StoredTensor> b = SafeTensors.read(interrupted.resolve("checkpoint_last.safetensors")).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) {
            if (a.get(name).dtype() == DType.I64) {
                assertArrayEquals(a.get(name).toLongs(), b.get(name).toLongs(), name);
            } else {
                assertArrayEquals(a.get(name).toFloats(), b.get(name).toFloats(), 0f, name); // bit for bit
            }
        }
        List<String> ma = Files.readAllLines(straight.resolve(Plots.METRICS)), mb = Files.readAllLines(interrupted.resolve(Plots.METRICS));
        assertEquals(2, ma.size());
        for (int i = 0; i < 2; i++) assertEquals(withoutTimings(ma.get(i)), withoutTimings(mb.get(i)));
        assertTrue(Files.isRegularFile(straight.resolve("loss.png")) && Files.isRegularFile(straight.resolve("pca.png")));
    }

    /** Wall-clock fields differ between runs; everything computed must not. */
    static String withoutTimings(String line) {
        return line.replaceAll("\"(images_per_s|epoch_s|data_wait_fraction|wall_s)\":[^,}]+", "");
    }
}
