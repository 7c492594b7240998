package mocoref.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import mocoref.MocoRefException;

import mocoref.data.Dataset;
import mocoref.data.Datasets;
import mocoref.data.Split;
import mocoref.data.SyntheticData;
import mocoref.io.AtomicFiles;
import mocoref.testing.Cli;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a crash or a failed write costs a training run: at most the epoch in progress. A
 * checkpoint that cannot be written stops the run with the previous checkpoint intact; whatever
 * a crash left in metrics.jsonl, a resume makes it hold each epoch once; a damaged checkpoint is
 * refused by its checksum. (KillAnywhereTest kills real processes; these set up the states.)
 */
class CheckpointSafetyTest {
    @TempDir
    Path tmp;

    Dataset train;
    Dataset test;
    TrainConfig config;
    Path run;
    final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    @BeforeEach
    void firstEpoch() throws IOException {
        SyntheticData.writeIdx(tmp.resolve("data"), 64, 24, 28, 28, false, 3);
        train = Datasets.load(tmp.resolve("data"), Split.TRAIN, 16, 1);
        test = Datasets.load(tmp.resolve("data"), Split.TEST, 16, 1);
        config = TrainerResumeTest.config(train, tmp.resolve("data"));
        run = tmp.resolve("run");
        new Trainer(config, mocoref.registry.Backends.byName("cpu", 2), 2, run, quiet, false).run(train, test, null, 1);
    }

    private Checkpoint last() {
        return Checkpoint.read(run.resolve(Checkpoint.LAST));
    }

    private void resume() {
        new Trainer(config, mocoref.registry.Backends.byName("cpu", 2), 2, run, quiet, false).run(train, test, last());
    }

    private List<Integer> metricsEpochs() throws IOException {
        return Files.readAllLines(run.resolve(Plots.METRICS)).stream()
                .map(l -> Integer.parseInt(l.replaceAll(".*\"epoch\":(\\d+).*", "$1"))).toList();
    }

    @Test
    void aCheckpointThatCannotBeWrittenStopsTheRunAndKeepsTheLastOne() throws IOException {
        // A folder where epoch 2's file must go: the rename onto it fails, as it would on a read-only or full disk.
        Path blocked = run.resolve(Checkpoint.epochFile(2));
        Files.createDirectories(blocked);
        Files.writeString(blocked.resolve("something"), "x");
        MocoRefException e = assertThrows(MocoRefException.class, this::resume);
        assertTrue(e.getMessage().startsWith(blocked + ": cannot write: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; the run stops after epoch 2 without its checkpoint (the last good one, of epoch 1, is kept)"),
                e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        assertEquals(1, last().epoch());
        assertEquals(List.of(1), metricsEpochs());
        assertEquals(List.of(), leftovers());
    }

    @Test
    void aResumeRewritesMetricsToTheCheckpointsEpochs() throws IOException {
        Path metrics = run.resolve(Plots.METRICS);
        String epoch1 = Files.readAllLines(metrics).get(0);
        assertEquals(List.of(epoch1), last().metrics());
        // A crash after epoch 2's line but before its checkpoint, a torn line, a doubled line:
        Files.writeString(metrics, epoch1 + "\n" + epoch1.replace("\"epoch\":1", "\"epoch\":2") + "\n{\"epoch\":2,\"lo",
                StandardOpenOption.APPEND);
        resume();
        assertEquals(List.of(1, 2), metricsEpochs());
        assertEquals(epoch1, Files.readAllLines(metrics).get(0));
        assertEquals(Files.readAllLines(metrics), last().metrics());
    }

    @Test
    void aResumeRestoresMetricsACrashLostAndRemovesTemporaryFiles() throws IOException {
        Files.delete(run.resolve(Plots.METRICS)); // a crash between the checkpoint and its metrics line, the worst case: all gone
        Path leftover = run.resolve(".checkpoint_last.safetensors.0123456789abcdef.tmp");
        Files.writeString(leftover, "half a checkpoint");
        resume();
        assertEquals(List.of(1, 2), metricsEpochs());
        assertFalse(Files.exists(leftover));
        assertEquals(List.of(), leftovers());
    }

    /** Killed after its last checkpoint but before final.json: the resume does the read-outs only, as the whole run would have. */
    @Test
    void aRunKilledDuringItsReadOutsFinishesThemOnResume() throws IOException {
        resume();
        Path result = run.resolve(Trainer.FINAL);
        String expected = Files.readString(result);
        byte[] checkpoint = Files.readAllBytes(run.resolve(Checkpoint.LAST));
        List<String> metrics = Files.readAllLines(run.resolve(Plots.METRICS));
        Files.delete(result);
        resume();
        assertEquals(expected, Files.readString(result));
        assertTrue(java.util.Arrays.equals(checkpoint, Files.readAllBytes(run.resolve(Checkpoint.LAST))), "the checkpoint changed");
        assertEquals(metrics, Files.readAllLines(run.resolve(Plots.METRICS)));
        Cli.Result again = Cli.run("train", "--resume", run.toString());
        assertEquals(2, again.code(), again.err());
        assertTrue(again.err().contains("is complete (2 of 2 epochs)"), again.err());
    }

    @Test
    void aDamagedCheckpointIsRefusedWithOneLine() throws IOException {
        Path file = run.resolve(Checkpoint.LAST);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(f.length() - 5);
            f.write(0x7f);
        }
        Cli.Result r = Cli.run("train", "--resume", run.toString());
        assertEquals(1, r.code(), r.err());
        assertEquals("moco-ref: " + file + ": its tensor data does not match the data_sha256 its header records (the file is corrupt,"
                + " or was changed after it was written)", r.err().strip());
    }

    private List<Path> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(run)) {
            return s.filter(AtomicFiles::isLeftover).toList();
        }
    }
}
