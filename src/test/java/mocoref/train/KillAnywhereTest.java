package mocoref.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import mocoref.data.SyntheticData;
import mocoref.io.AtomicFiles;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Kill anywhere, lose nothing: a short {@code moco-ref train} runs in a child JVM, is killed with
 * SIGKILL three times at seeded random moments (once inside a step, once while a checkpoint is
 * being written, once during the epoch's evaluation), and is resumed each time in a fresh JVM.
 * Its final state (every tensor of every checkpoint: both encoders, queue, queue_ptr, SGD's
 * buffers; the metadata; final.json and the test features) and its metrics log must equal, bit
 * for bit, those of the same command run once without interruption, also in a fresh JVM.
 *
 * <p>The child announces its phases ({@code -Dmocoref.phases}, see {@link mocoref.Phases}) and
 * pauses 20 ms at each, so the kills land where they are aimed: after "step S" inside that step,
 * after "checkpoint E" inside its serialization or after "rename checkpoint_last.safetensors" with
 * the new file complete but not yet renamed, after "eval E" inside the feature extraction and kNN.
 * Tiny model (ResNet-18 at width 4, 16 px, batch 16, 4 steps an epoch, 2 epochs), about 25 s a backend.
 */
class KillAnywhereTest {
    static final int PAUSE_MS = 20;
    static final int EPOCHS = 2;
    static final int STEPS_PER_EPOCH = 4; // 64 images, batch 16

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void killedThreeTimesAndResumedEndsBitForBitWhereAnUninterruptedRunEnds(String backend) throws Exception {
        Path data = tmp.resolve("data");
        SyntheticData.writeIdx(data, 64, 24, 28, 28, false, 3);
        Path straight = tmp.resolve("straight");
        Child once = start(backend, data, straight, false);
        assertEquals(0, once.finish(), once.output());

        Path killed = tmp.resolve("killed");
        Random rng = new Random(backend.hashCode() * 31L + 7);
        List<String> kinds = new ArrayList<>(List.of("step", "checkpoint", "eval"));
        java.util.Collections.shuffle(kinds, rng);
        List<String> landed = new ArrayList<>();
        for (String kind : kinds) {
            int done = Files.exists(killed.resolve(Checkpoint.LAST)) ? Checkpoint.read(killed.resolve(Checkpoint.LAST)).epoch() : 0;
            Child c = start(backend, data, killed, done > 0);
            landed.add(c.killAt(kind, done, rng));
        }
        Child last = start(backend, data, killed, Files.exists(killed.resolve(Checkpoint.LAST)));
        assertEquals(0, last.finish(), "kills at " + landed + "\n" + last.output());

        assertSameRun(straight, killed, backend + ", kills at " + landed);
    }

    /** Every checkpoint, tensor by tensor and bit for bit, its metadata, the metrics lines, final.json and the test features. */
    static void assertSameRun(Path a, Path b, String what) throws IOException {
        for (int e = 1; e <= EPOCHS; e++) assertSameFile(a, b, Checkpoint.epochFile(e), what);
        assertSameFile(a, b, Checkpoint.LAST, what);
        assertSameFile(a, b, Plots.TEST_FEATURES, what);
        assertEquals(Files.readString(a.resolve(Trainer.FINAL)), Files.readString(b.resolve(Trainer.FINAL)), what);
        List<String> ma = Files.readAllLines(a.resolve(Plots.METRICS)), mb = Files.readAllLines(b.resolve(Plots.METRICS));
        assertEquals(EPOCHS, ma.size(), what);
        assertEquals(ma.stream().map(TrainerResumeTest::withoutTimings).toList(), mb.stream().map(TrainerResumeTest::withoutTimings).toList(),
                what);
        try (Stream<Path> s = Files.list(b)) {
            assertEquals(List.of(), s.filter(AtomicFiles::isLeftover).toList(), what + ": temporary files left");
        }
    }

    private static void assertSameFile(Path a, Path b, String name, String what) {
        SafeTensorsFile fa = SafeTensors.read(a.resolve(name)), fb = SafeTensors.read(b.resolve(name));
        assertEquals(fa.names(), fb.names(), what + ": " + name);
        TreeSet<String> differ = new TreeSet<>();
        for (Map.Entry<String, StoredTensor> t : fa.tensors().entrySet()) {
            if (!t.getValue().equals(fb.get(t.getKey()))) differ.add(t.getKey());
        }
        assertEquals(new TreeSet<>(), differ, what + ": " + name + ": " + differ.size() + " of " + fa.names().size() + " tensors differ");
        Map<String, String> meta = new java.util.TreeMap<>(fb.metadata());
        Map<String, String> expected = new java.util.TreeMap<>(fa.metadata());
        // Timings differ between runs; the metrics lines are compared without them above.
        meta.remove("metrics");
        expected.remove("metrics");
        assertEquals(expected, meta, what + ": " + name);
    }

    private Child start(String backend, Path data, Path out, boolean resume) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xss8m", "--add-modules", "jdk.incubator.vector", "-Dmocoref.phases",
                "-Dmocoref.phases.pause=" + PAUSE_MS, "-cp", System.getProperty("java.class.path"), "mocoref.cli.Main", "train"));
        if (resume) {
            cmd.addAll(List.of("--resume", out.toString()));
        } else {
            cmd.addAll(List.of("--data", data.toString(), "--out", out.toString(), "--epochs", Integer.toString(EPOCHS), "--width", "4",
                    "--image-size", "16", "--batch-size", "16", "--moco-k", "32", "--moco-dim", "16", "--knn-k", "5", "--seed", "7",
                    "--no-baselines", "--backend", backend, "--threads", "2"));
        }
        Path log = Files.createTempFile(tmp, "stderr", ".txt");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        return new Child(p, log);
    }

    /** A training process whose stdout the test reads line by line. */
    static final class Child {
        final Process process;
        final Path stderr;
        final BufferedReader out;
        final StringBuilder seen = new StringBuilder();

        Child(Process process, Path stderr) {
            this.process = process;
            this.stderr = stderr;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        String next() throws IOException {
            String line = out.readLine();
            if (line != null) seen.append(line).append('\n');
            return line;
        }

        /** Reads to the end and waits for the exit code. */
        int finish() throws Exception {
            while (next() != null) {
                // keep reading: a full pipe would block the child
            }
            assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the child did not end");
            return process.exitValue();
        }

        String output() throws IOException {
            return seen + Files.readString(stderr);
        }

        /**
         * Kills the process inside the next phase of {@code kind} still ahead of it ({@code done}
         * epochs are checkpointed), at a random moment; returns where.
         */
        String killAt(String kind, int done, Random rng) throws Exception {
            int epoch = done + 1 + rng.nextInt(Math.max(1, EPOCHS - done));
            String line;
            long delayMs;
            if (done == EPOCHS) {
                // An earlier kill landed after the last checkpoint: only the read-outs (kNN, linear probe, final.json) remain.
                line = "phase eval " + EPOCHS;
                delayMs = PAUSE_MS + rng.nextInt(40);
            } else if (kind.equals("step")) {
                long step = (long) (epoch - 1) * STEPS_PER_EPOCH + rng.nextInt(STEPS_PER_EPOCH);
                line = "phase step " + step;
                delayMs = PAUSE_MS + rng.nextInt(15); // past the pause: inside the step's arithmetic
            } else if (kind.equals("eval")) {
                line = "phase eval " + epoch;
                delayMs = PAUSE_MS + rng.nextInt(40);
            } else if (rng.nextBoolean()) {
                line = "phase checkpoint " + epoch;
                delayMs = PAUSE_MS + rng.nextInt(6); // inside the serialization of checkpoint_epoch00E
            } else {
                line = "phase rename " + Checkpoint.LAST;
                delayMs = rng.nextInt(PAUSE_MS / 2); // the new file complete and forced, not yet renamed
            }
            String l;
            int renames = 0;
            while ((l = next()) != null) {
                if (!l.equals(line)) continue;
                if (line.startsWith("phase rename") && ++renames < epoch - done) continue; // this epoch's, not an earlier one's
                break;
            }
            assertNotEquals(null, l, "the child ended before '" + line + "'\n" + output());
            Thread.sleep(delayMs);
            process.destroyForcibly();
            assertTrue(process.waitFor(60, TimeUnit.SECONDS));
            // destroyForcibly closed the pipes; what the child printed before is in seen.
            assertNotEquals(0, process.exitValue(), "the child finished before it was killed\n" + output());
            return "'" + line + "' + " + delayMs + " ms";
        }
    }
}
