package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import mocoref.golden.GoldenReport;
import mocoref.testing.Cli;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import mocoref.testing.ErrorLog;

/**
 * Weights move both ways between PyTorch and moco-ref (files and script in reference-tests/transfer/).
 *
 * <p>Error measure: {@code ||a - e|| / ||e||} over a whole output tensor. With the reference
 * backend the transfer itself must be exact, so its outputs are held to 1e-5 against PyTorch's
 * float32 outputs (which carry float32 rounding, 2e-7 to 9e-7 here) and to 1e-7 against
 * PyTorch's float64 outputs of the same weights: {@code features} writes F32, so the float64
 * agreement shows only down to float32 rounding (measured 2.5e-8). A tensor put in the wrong
 * place, transposed or dropped moves the outputs by O(1). The cpu backend computes in float32
 * and is held to 1e-4, its arithmetic's error rather than the transfer's.
 */
class TransferTest {
    static final Path DIR = Path.of("reference-tests/transfer");
    static final double TRANSFER_TOL = 1e-5;
    static final double FLOAT64_TOL = 1e-7;
    static final double CPU_TOL = 1e-4;

    @TempDir
    Path tmp;

    // ---- (a) PyTorch -> moco-ref: torchvision's resnet18 ------------------------------------

    /** SplitMix64's finalizer, the generator make_transfer.py draws the torchvision weights from. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The manifest's state dict, rebuilt value for value as make_transfer.py drew it. */
    static Map<String, StoredTensor> torchvisionState(SafeTensorsFile f) throws Exception {
        JsonNode manifest = new ObjectMapper().readTree(f.metadata().get("manifest"));
        long seed = Long.parseLong(f.metadata().get("generator_seed"));
        Map<String, StoredTensor> state = new LinkedHashMap<>();
        for (int index = 0; index < manifest.size(); index++) {
            JsonNode e = manifest.get(index);
            int[] shape = new int[e.get("shape").size()];
            for (int d = 0; d < shape.length; d++) shape[d] = e.get("shape").get(d).asInt();
            if (e.has("value")) {
                state.put(e.get("name").asText(), StoredTensor.i64(new long[] {e.get("value").asLong()}, shape));
                continue;
            }
            int numel = 1;
            for (int d : shape) numel *= d;
            double lo = e.get("lo").asDouble();
            double hi = e.get("hi").asDouble();
            float[] v = new float[numel];
            double sum = 0;
            for (int i = 0; i < numel; i++) {
                double u = (mix(((long) index << 40) + i + seed) >>> 40) / 16777216.0;
                v[i] = (float) (lo + (hi - lo) * u);
                sum += v[i];
            }
            // the generator itself: a disagreement here is not a transfer error
            assertEquals(e.get("sum").asDouble(), sum, 1e-9 * Math.max(1, Math.abs(sum)), e.get("name").asText());
            state.put(e.get("name").asText(), StoredTensor.f32(v, shape));
        }
        return state;
    }

    private static double check(String what, SafeTensorsFile actual, String name, SafeTensorsFile expected, String expectedName,
            double tol) {
        double err = GoldenReport.relativeError(actual.get(name).toDoubles(), expected.get(expectedName).toDoubles());
        ErrorLog.record("transfer", what + " " + name + " vs " + expectedName, err);
        assertTrue(err <= tol, what + ": " + name + " vs torch " + expectedName + ": relative error " + err + " > " + tol);
        return err;
    }

    private SafeTensorsFile features(Path checkpoint, Path images, String backend, String name) {
        Path out = tmp.resolve(name);
        Cli.Result r = Cli.run("features", "--checkpoint", checkpoint.toString(), "--input", images.toString(), "--out", out.toString(),
                "--backend", backend, "--threads", "2");
        assertEquals(0, r.code(), r.err());
        return SafeTensors.read(out);
    }

    @Test
    void torchvisionResnet18LoadsUnderPlainAndOfficialMocoNames() throws Exception {
        Path torchFile = DIR.resolve("torchvision_resnet18.safetensors");
        SafeTensorsFile torch = SafeTensors.read(torchFile);
        Map<String, StoredTensor> state = torchvisionState(torch);

        Path plain = tmp.resolve("resnet18.safetensors");
        SafeTensors.write(plain, state, Map.of());
        CheckpointModel m = CheckpointModel.load(plain, ArchOverrides.NONE);
        assertEquals("resnet18 (basic [2, 2, 2, 2], width 64, 3 channels, imagenet stem, fc head dim 10)", m.describe());
        SafeTensorsFile ours = features(plain, torchFile, "reference", "plain.safetensors");
        check("torchvision plain", ours, "features", torch, "features", TRANSFER_TOL);
        check("torchvision plain", ours, "embedding", torch, "output", TRANSFER_TOL);
        check("torchvision plain", ours, "features", torch, "features_f64", FLOAT64_TOL);
        check("torchvision plain", ours, "embedding", torch, "output_f64", FLOAT64_TOL);

        // An official MoCo checkpoint holds both encoders and the queue under DataParallel's "module.".
        Map<String, StoredTensor> official = new LinkedHashMap<>();
        state.forEach((k, v) -> official.put("module.encoder_q." + k, v));
        state.forEach((k, v) -> official.put("module.encoder_k." + k, v));
        official.put("module.queue", StoredTensor.f32(new float[10 * 8], 10, 8));
        official.put("module.queue_ptr", StoredTensor.i64(new long[] {0}, 1));
        Path moco = tmp.resolve("official.safetensors");
        SafeTensors.write(moco, official, Map.of());
        assertEquals("module.encoder_q.", CheckpointModel.load(moco, ArchOverrides.NONE).prefix());
        SafeTensorsFile fromMoco = features(moco, torchFile, "cpu", "official.safetensors");
        check("torchvision module.encoder_q cpu", fromMoco, "features", torch, "features", CPU_TOL);
        check("torchvision module.encoder_q cpu", fromMoco, "embedding", torch, "output", CPU_TOL);
    }

    @Test
    void exportWritesWhatTorchvisionsResnet18LoadsWithStrictFalse() throws Exception {
        SafeTensorsFile torch = SafeTensors.read(DIR.resolve("torchvision_resnet18.safetensors"));
        Map<String, StoredTensor> state = torchvisionState(torch);
        Path plain = tmp.resolve("resnet18.safetensors");
        SafeTensors.write(plain, state, Map.of());
        Path out = tmp.resolve("backbone.safetensors");
        Cli.Result r = Cli.run("export", "--checkpoint", plain.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        SafeTensorsFile exported = SafeTensors.read(out);
        // torchvision's own state-dict listing, less fc: exactly what load_state_dict(strict=False) accepts with only fc missing
        List<String> expected = new ArrayList<>(state.keySet());
        expected.removeIf(n -> n.startsWith("fc."));
        assertEquals(expected, List.copyOf(exported.names()));
        for (String name : expected) assertEquals(state.get(name), exported.get(name), name);
        assertEquals("resnet18", exported.metadata().get("arch"));
        assertEquals(BackboneExport.FORMAT, exported.metadata().get("format"));
    }

    // ---- (b) moco-ref -> PyTorch: a moco-ref checkpoint read by the official loading code ----

    @Test
    void mocoRefCheckpointComputesWhatPytorchComputesFromIt() {
        Path ckpt = DIR.resolve("mocoref_checkpoint.safetensors");
        Path torchFile = DIR.resolve("mocoref_torch.safetensors");
        SafeTensorsFile torch = SafeTensors.read(torchFile);
        for (String load : new String[] {"lincls_load", "checkpoint_strict_load", "backbone_strict_load"}) {
            assertTrue(torch.metadata().get(load).startsWith("ok"), load + ": " + torch.metadata().get(load));
        }
        SafeTensorsFile ours = features(ckpt, torchFile, "reference", "ckpt.safetensors");
        check("moco-ref checkpoint", ours, "features", torch, "features", TRANSFER_TOL);
        check("moco-ref checkpoint", ours, "embedding", torch, "embedding", TRANSFER_TOL);
        check("moco-ref checkpoint", ours, "features", torch, "features_f64", FLOAT64_TOL);
        check("moco-ref checkpoint", ours, "embedding", torch, "embedding_f64", FLOAT64_TOL);
        SafeTensorsFile cpu = features(ckpt, torchFile, "cpu", "ckpt-cpu.safetensors");
        check("moco-ref checkpoint cpu", cpu, "features", torch, "features", CPU_TOL);
        check("moco-ref checkpoint cpu", cpu, "embedding", torch, "embedding", CPU_TOL);
    }

    @Test
    void exportWritesWhatPytorchKeepsOfTheCheckpointAndComputesTheSameFeatures() {
        Path ckpt = DIR.resolve("mocoref_checkpoint.safetensors");
        Path out = tmp.resolve("backbone.safetensors");
        Cli.Result r = Cli.run("export", "--checkpoint", ckpt.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        SafeTensorsFile exported = SafeTensors.read(out);
        // PyTorch's own state_dict() of the encoder main_lincls.py loads from the same checkpoint, less fc (make_transfer.py):
        // the names in PyTorch's module order, and every tensor's dtype, shape and value.
        SafeTensorsFile torch = SafeTensors.read(DIR.resolve("torch_backbone.safetensors"));
        assertEquals(List.copyOf(torch.names()), List.copyOf(exported.names()));
        for (String name : torch.names()) assertEquals(torch.get(name), exported.get(name), name);
        assertEquals(BackboneExport.FORMAT, exported.metadata().get("format"));
        assertEquals("resnet18", exported.metadata().get("arch"));

        SafeTensorsFile torchOutputs = SafeTensors.read(DIR.resolve("mocoref_torch.safetensors"));
        SafeTensorsFile ours = features(out, DIR.resolve("mocoref_torch.safetensors"), "reference", "from-export.safetensors");
        assertFalse(ours.has("embedding"), "an exported backbone has no head");
        check("moco-ref export", ours, "features", torchOutputs, "backbone_features", TRANSFER_TOL);

        // the export keeps the checkpoint's normalization and image size for knn/lincls
        CheckpointModel m = CheckpointModel.load(out, ArchOverrides.NONE);
        assertEquals(28, m.imageSize());
        assertArrayEquals(new double[] {0.286}, m.normalize().mean(), 1e-7);
    }
}
