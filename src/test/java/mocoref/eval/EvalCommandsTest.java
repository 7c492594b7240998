package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.data.SyntheticData;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** knn, lincls, features and export as a user runs them: exit codes, what they print, one-line errors naming the file. */
class EvalCommandsTest {
    static final Path CKPT = Path.of("reference-tests/transfer/mocoref_checkpoint.safetensors");

    @TempDir
    Path tmp;

    /** Runs the command, expects exit 1 with one line "moco-ref: FILE: ..." containing {@code part}. */
    private static void assertUserError(Path file, String part, String... args) {
        Cli.Result r = Cli.run(args);
        assertEquals(1, r.code(), r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("moco-ref: " + file + ": "), err);
        assertTrue(err.contains(part), err);
    }

    private Path images(int n, int c, int h, int w) {
        Path p = tmp.resolve("images-" + c + ".safetensors");
        SafeTensors.write(p, Map.of("images", StoredTensor.f32(new float[n * c * h * w], n, c, h, w)), Map.of());
        return p;
    }

    @Test
    void aMissingCheckpointIsAOneLineError() {
        Path missing = tmp.resolve("none.safetensors");
        String out = tmp.resolve("o").toString();
        assertUserError(missing, "no such file", "knn", "--checkpoint", missing.toString());
        assertUserError(missing, "no such file", "lincls", "--checkpoint", missing.toString());
        assertUserError(missing, "no such file", "export", "--checkpoint", missing.toString(), "--out", out);
        assertUserError(missing, "no such file", "features", "--checkpoint", missing.toString(), "--out", out, "--input",
                images(1, 1, 28, 28).toString());
    }

    @Test
    void aFileThatIsNotSafetensorsIsAOneLineError() throws Exception {
        Path text = tmp.resolve("notes.txt");
        Files.writeString(text, "these are not tensors, just a longer line of text\n");
        assertUserError(text, "not a safetensors file", "export", "--checkpoint", text.toString(), "--out", tmp.resolve("o").toString());
    }

    @Test
    void unknownNamingIsAOneLineError() {
        Path other = tmp.resolve("other.safetensors");
        SafeTensors.write(other, Map.of("backbone.stem.weight", StoredTensor.f32(new float[4], 4)), Map.of());
        assertUserError(other, "no 'conv1.weight' under any known prefix", "knn", "--checkpoint", other.toString());
    }

    @Test
    void anOverrideThatDoesNotFitIsAOneLineError() {
        assertUserError(CKPT, "'encoder_q.conv1.weight' has shape [4, 1, 3, 3]", "export", "--checkpoint", CKPT.toString(), "--width",
                "8", "--out", tmp.resolve("o").toString());
        assertUserError(CKPT, "but resnet50 (bottleneck [3, 4, 6, 3], width 4", "features", "--checkpoint", CKPT.toString(), "--arch",
                "resnet50", "--input", images(1, 1, 28, 28).toString(), "--out", tmp.resolve("o").toString());
        assertUserError(CKPT, "missing tensor 'encoder_q.fc.weight'", "export", "--checkpoint", CKPT.toString(), "--no-mlp", "--out",
                tmp.resolve("o").toString());
        Cli.Result fits = Cli.run("export", "--checkpoint", CKPT.toString(), "--mlp", "--arch", "resnet18", "--moco-dim", "16", "--out",
                tmp.resolve("o").toString());
        assertEquals(0, fits.code(), fits.err());
    }

    @Test
    void imagesWithTheWrongChannelCountAreAOneLineError() {
        Path rgb = images(2, 3, 28, 28);
        assertUserError(rgb, "images have 3 channels, but the encoder of " + CKPT + " takes 1", "features", "--checkpoint",
                CKPT.toString(), "--input", rgb.toString(), "--out", tmp.resolve("o").toString());
        Path two = tmp.resolve("two.safetensors");
        SafeTensors.write(two, Map.of("a", StoredTensor.f32(new float[1], 1), "b", StoredTensor.f32(new float[1], 1)), Map.of());
        assertUserError(two, "no tensor 'images'", "features", "--checkpoint", CKPT.toString(), "--input", two.toString(), "--out",
                tmp.resolve("o").toString());
    }

    @Test
    void embeddingsOfAHeadlessBackboneAreRefused() {
        Path backbone = Path.of("reference-tests/transfer/mocoref_backbone.safetensors");
        assertUserError(backbone, "no head", "knn", "--checkpoint", backbone.toString(), "--embedding");
    }

    private Path data() throws Exception {
        Path dir = tmp.resolve("data");
        SyntheticData.writeIdx(dir, 200, 50, 28, 28, false, 1);
        return dir;
    }

    @Test
    void knnPrintsTop1AndTop5() throws Exception {
        Cli.Result r = Cli.run("knn", "--checkpoint", CKPT.toString(), "--data", data().toString(), "--k", "20", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("normalize: checkpoint"), r.out());
        assertTrue(r.out().matches("(?s).*kNN \\(k 20, t 0.1, backbone features, 32-d\\): top-1 \\d+\\.\\d\\d%  top-5 \\d+\\.\\d\\d%.*"), r.out());
        Cli.Result e = Cli.run("knn", "--checkpoint", CKPT.toString(), "--data", data().toString(), "--embedding", "--subset", "100");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("head output, 16-d"), e.out());
        assertTrue(e.out().contains("50 test images against 100"), e.out());
    }

    @Test
    void linclsRunsBothVariants() throws Exception {
        Path data = data();
        Cli.Result cached = Cli.run("lincls", "--checkpoint", CKPT.toString(), "--data", data.toString(), "--cached-features",
                "--fixed", "--epochs", "5", "--threads", "2");
        assertEquals(0, cached.code(), cached.err());
        assertTrue(cached.out().contains("lr 30 x0.1 at [3, 4]"), cached.out());
        assertTrue(cached.out().contains("epoch 5/5"), cached.out());
        assertTrue(cached.out().matches("(?s).*lincls: top-1 \\d+\\.\\d\\d%  top-5 \\d+\\.\\d\\d%.*"), cached.out());

        Cli.Result augmented = Cli.run("lincls", "--checkpoint", CKPT.toString(), "--data", data.toString(), "--epochs", "2",
                "--schedule", "1", "--batch-size", "64", "--threads", "2");
        assertEquals(0, augmented.code(), augmented.err());
        assertTrue(augmented.out().contains("RandomResizedCrop(28, scale 0.08-1) + flip"), augmented.out());
        assertTrue(augmented.out().contains("epoch 2/2  lr 3 "), augmented.out());
    }

    @Test
    void linclsOnCachedFeaturesChoosesLrAndWdOnHeldOutData() throws Exception {
        Cli.Result r = Cli.run("lincls", "--checkpoint", CKPT.toString(), "--data", data().toString(), "--cached-features",
                "--epochs", "5", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals(LinearEval.GRID_LR.length * LinearEval.GRID_WD.length, r.out().lines().filter(l -> l.startsWith("held-out: lr ")).count(),
                r.out());
        assertTrue(r.out().matches("(?s).*lincls: chose lr [0-9.]+, wd [0-9.e-]+; retrained.*"), r.out());
        // giving --lr means the fixed protocol
        Cli.Result fixed = Cli.run("lincls", "--checkpoint", CKPT.toString(), "--data", data().toString(), "--cached-features",
                "--lr", "1", "--epochs", "2", "--threads", "2");
        assertEquals(0, fixed.code(), fixed.err());
        assertTrue(!fixed.out().contains("held-out") && fixed.out().contains("epoch 1/2  lr 1 "), fixed.out());
    }

    @Test
    void featuresOfAPlainStateDictWithoutMetadata() {
        Map<String, StoredTensor> state = new LinkedHashMap<>(CheckpointModelTest.state(CheckpointModelTest.BOTTLENECK_FC, "", 1));
        Path plain = tmp.resolve("plain.safetensors");
        SafeTensors.write(plain, state, Map.of());
        Path out = tmp.resolve("f.safetensors");
        Cli.Result r = Cli.run("features", "--checkpoint", plain.toString(), "--input", images(3, 3, 20, 20).toString(), "--out",
                out.toString(), "--batch-size", "2");
        assertEquals(0, r.code(), r.err());
        var f = SafeTensors.read(out);
        assertEquals(java.util.List.of(3, 64), java.util.Arrays.stream(f.get("features").shape()).boxed().toList());
        assertEquals(java.util.List.of(3, 8), java.util.Arrays.stream(f.get("embedding").shape()).boxed().toList());
    }
}
