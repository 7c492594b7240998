package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import mocoref.data.SyntheticData;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.testing.Cli;
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

    /** 200 training and 50 test images, each a noisy copy of its class's random prototype (SyntheticData.writeIdxByClass): chance is 10%. */
    private Path data() throws Exception {
        Path dir = tmp.resolve("data");
        SyntheticData.writeIdxByClass(dir, 200, 50, 28, 28, 1);
        return dir;
    }

    /** Top-1 and top-5 (in %) of the last "top-1 X%  top-5 Y%" the command printed: its result line. */
    static double[] lastTop(String out) {
        Matcher m = Pattern.compile("top-1 (\\d+\\.\\d\\d)%  top-5 (\\d+\\.\\d\\d)%").matcher(out);
        double[] top = null;
        while (m.find()) top = new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))};
        assertTrue(top != null, "no accuracy in:\n" + out);
        return top;
    }

    /**
     * Each class is one random image plus noise, which even the small random-weight encoder of the
     * transfer checkpoint keeps apart: its kNN gets every test image right. A kNN that voted
     * for the wrong neighbours or misread the labels would be near 10% (chance) or 0%.
     */
    @Test
    void knnClassifiesWhatItShould() throws Exception {
        Cli.Result r = Cli.run("knn", "--checkpoint", CKPT.toString(), "--data", data().toString(), "--k", "20", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("normalize: checkpoint"), r.out());
        assertTrue(r.out().contains("kNN (k 20, t 0.1, backbone features, 32-d): "), r.out());
        assertArrayEquals(new double[] {100, 100}, lastTop(r.out()), r.out());
        Cli.Result e = Cli.run("knn", "--checkpoint", CKPT.toString(), "--data", data().toString(), "--embedding", "--subset", "100");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("head output, 16-d"), e.out());
        assertTrue(e.out().contains("50 test images against 100"), e.out());
        assertTrue(lastTop(e.out())[0] >= 90, e.out());
    }

    /**
     * The linear probe learns the same classes: every test image right from cached features, and at
     * least 90% from augmented (whole-image crops and flips, which the mirror-symmetric prototypes
     * survive) in 20 epochs of lr 0.03 (main_lincls's lr 30 diverges on these unnormalized
     * features). A probe that trained on the wrong labels, or not at all, stays at chance (10%).
     */
    @Test
    void linclsLearnsWhatItShould() throws Exception {
        Path data = data();
        Cli.Result cached = Cli.run("lincls", "--checkpoint", CKPT.toString(), "--data", data.toString(), "--cached-features",
                "--epochs", "20", "--lr", "0.03", "--batch-size", "20", "--threads", "2");
        assertEquals(0, cached.code(), cached.err());
        assertTrue(cached.out().contains("lr 0.03 x0.1 at [12, 16]"), cached.out());
        assertTrue(cached.out().contains("epoch 20/20"), cached.out());
        assertTrue(cached.out().contains("lincls: top-1 "), cached.out());
        assertArrayEquals(new double[] {100, 100}, lastTop(cached.out()), cached.out());

        Cli.Result augmented = Cli.run("lincls", "--checkpoint", CKPT.toString(), "--data", data.toString(), "--epochs", "20",
                "--batch-size", "20", "--lr", "0.03", "--min-scale", "1", "--threads", "2");
        assertEquals(0, augmented.code(), augmented.err());
        assertTrue(augmented.out().contains("RandomResizedCrop(28, scale 1-1) + flip"), augmented.out());
        assertTrue(augmented.out().contains("epoch 20/20  lr 0.0003 "), augmented.out());
        assertTrue(lastTop(augmented.out())[0] >= 90, augmented.out());
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
