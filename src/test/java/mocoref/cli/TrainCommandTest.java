package mocoref.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import mocoref.data.SyntheticData;
import mocoref.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code moco-ref train} end to end on a tiny synthetic dataset: outputs, resume, and one-line errors. */
class TrainCommandTest {
    @TempDir
    Path tmp;

    private int run(ByteArrayOutputStream err, String... args) {
        PrintStream savedOut = System.out, savedErr = System.err;
        try {
            System.setOut(new PrintStream(new ByteArrayOutputStream()));
            System.setErr(new PrintStream(err));
            return Main.run(args);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    @Test
    void trainsWritesCheckpointsMetricsAndPlotsThenResumes() throws Exception {
        SyntheticData.writeIdx(tmp.resolve("data"), 64, 24, 28, 28, false, 5);
        Path out = tmp.resolve("run");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = run(err, "train", "--data", tmp.resolve("data").toString(), "--out", out.toString(), "--epochs", "1",
                "--width", "4", "--image-size", "16", "--batch-size", "16", "--moco-k", "32", "--moco-dim", "16",
                "--knn-k", "5", "--threads", "2");
        assertEquals(0, code, err.toString());
        for (String f : new String[] {"checkpoint_epoch001.safetensors", "checkpoint_last.safetensors", "metrics.jsonl",
                "loss.png", "knn_accuracy.png", "schedules.png", "pca.png", "test_features.safetensors"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f + " missing");
        }
        assertEquals(1, Checkpoint.read(out.resolve("checkpoint_last.safetensors")).epoch());
        code = run(err, "train", "--resume", out.toString(), "--epochs", "2");
        assertEquals(0, code, err.toString());
        assertEquals(2, Checkpoint.read(out.resolve("checkpoint_last.safetensors")).epoch());
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(2, metrics.size());
        // The schedules training used (TrainConfigTest checks the formulas): epoch 1 ran as a 1-epoch cosine run,
        // epoch 2 as the second of 2, lr 0.06 * 0.5 * (1 + cos(pi / 2)); m stays at --moco-m.
        assertEquals(0.06, field(metrics.get(0), "lr"), 1e-15);
        assertEquals(0.03, field(metrics.get(1), "lr"), 1e-15);
        assertEquals(0.99, field(metrics.get(1), "moco_m"), 0);
    }

    private static double field(String jsonLine, String name) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(jsonLine).get(name).asDouble();
    }

    @Test
    void missingDataDirectoryIsOneLineNamingIt() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(1, run(err, "train", "--data", tmp.resolve("nowhere").toString()));
        String msg = err.toString().strip();
        assertTrue(msg.startsWith("moco-ref: ") && msg.contains("nowhere") && !msg.contains("\n"), msg);
    }
}
