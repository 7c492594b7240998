package mocoref.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import mocoref.model.ResNetLayout;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.io.SafeTensors;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.model.ResNetConfig.Block;
import mocoref.model.ResNetConfig.Stem;
import mocoref.reference.ReferenceBackend;
import mocoref.reference.ResNet;
import mocoref.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading encoders out of files: architecture inference, prefixes, overrides and the one-line errors. */
class CheckpointModelTest {
    @TempDir
    Path dir;

    static final ResNetConfig R18_W4_MLP = new ResNetConfig(Block.BASIC, new int[] {2, 2, 2, 2}, 4, 1, Stem.CIFAR, 16, true);
    static final ResNetConfig BOTTLENECK_FC = new ResNetConfig(Block.BOTTLENECK, new int[] {1, 2, 1, 1}, 2, 3, Stem.IMAGENET, 8, false);
    static final ResNetConfig R34_W2 = new ResNetConfig(Block.BASIC, new int[] {3, 4, 6, 3}, 2, 3, Stem.CIFAR, 8, false);
    static final ResNetConfig R10_W4_MLP = ResNetConfig.preset("resnet10", 4, 1, Stem.CIFAR, 16, true);

    /** A randomly initialized encoder's state dict under {@code prefix}. */
    static Map<String, StoredTensor> state(ResNetConfig c, String prefix, long seed) {
        ResNet net = new ResNet(c);
        net.initialize(seed);
        return new LinkedHashMap<>(net.stateDict(prefix));
    }

    private Path write(String name, Map<String, StoredTensor> tensors, Map<String, String> meta) {
        Path p = dir.resolve(name);
        SafeTensors.write(p, tensors, meta);
        return p;
    }

    private Path write(String name, Map<String, StoredTensor> tensors) {
        return write(name, tensors, Map.of());
    }

    @Test
    void layoutListsWhatTheReferenceResNetHolds() {
        // Two separately written descriptions of torchvision's layout must agree name for name and shape for shape.
        for (ResNetConfig c : List.of(R18_W4_MLP, BOTTLENECK_FC, R34_W2)) {
            Map<String, StoredTensor> ref = new ResNet(c).stateDict("");
            Map<String, int[]> mine = new LinkedHashMap<>(ResNetLayout.of(c).backbone());
            mine.putAll(ResNetLayout.of(c).headStateDict());
            assertEquals(List.copyOf(ref.keySet()), List.copyOf(mine.keySet()), c.toString());
            for (String name : ref.keySet()) assertArrayEquals(ref.get(name).shape(), mine.get(name), name);
        }
    }

    @Test
    void infersTheArchitectureUnderEveryKnownPrefix() {
        for (ResNetConfig c : List.of(R18_W4_MLP, BOTTLENECK_FC, R34_W2, R10_W4_MLP)) {
            for (String prefix : CheckpointModel.PREFIXES) {
                Map<String, StoredTensor> tensors = state(c, prefix, 1);
                if (!prefix.isEmpty()) tensors.putAll(state(c, prefix.replace("encoder_q", "encoder_k"), 2)); // as MoCo files hold both
                tensors.put(prefix.startsWith("module.") ? "module.queue" : "queue", StoredTensor.f32(new float[c.dim() * 4], c.dim(), 4));
                CheckpointModel m = CheckpointModel.load(write("m.safetensors", tensors), ArchOverrides.NONE);
                assertEquals(c, m.config(), prefix);
                assertEquals(prefix, m.prefix());
                assertTrue(m.hasHead());
            }
        }
        assertEquals("resnet34", ResNetLayout.of(R34_W2).archName());
        // --arch resnet10 is ResNet-18 with one basic block a stage, and a checkpoint of it says so
        assertArrayEquals(new int[] {1, 1, 1, 1}, R10_W4_MLP.layers());
        assertEquals(Block.BASIC, R10_W4_MLP.block());
        assertEquals("resnet10", ResNetLayout.of(R10_W4_MLP).archName());
    }

    @Test
    void aBackboneWithoutHeadGivesFeaturesAndNoEmbedding() {
        Map<String, StoredTensor> full = state(R18_W4_MLP, "", 3);
        Map<String, StoredTensor> backbone = new LinkedHashMap<>(full);
        backbone.keySet().removeIf(n -> n.startsWith("fc."));
        CheckpointModel m = CheckpointModel.load(write("b.safetensors", backbone), ArchOverrides.NONE);
        assertFalse(m.hasHead());
        assertTrue(m.describe().contains("no head"), m.describe());
        Tensor x = new Tensor(2, 1, 8, 8);
        Random rng = new Random(4);
        for (int i = 0; i < x.numel(); i++) x.data[i] = rng.nextGaussian();
        Encoder.Encoded headless = m.encoder(new ReferenceBackend()).encode(ImageBatch.of(x));
        Encoder.Encoded withHead = new ReferenceBackend().encoder(R18_W4_MLP, full, "", "full").encode(ImageBatch.of(x));
        assertNull(headless.embeddings());
        assertArrayEquals(withHead.features(), headless.features());
    }

    @Test
    void readsTheNormalizationImageSizeAndDataOfAMocoRefCheckpoint() {
        String config = "{\"model\":{\"block\":\"basic\",\"layers\":[2,2,2,2],\"width\":4,\"in_channels\":1,\"stem\":\"cifar\","
                + "\"dim\":16,\"mlp\":true},\"image_size\":28,\"normalize_mean\":[0.286],\"normalize_std\":[0.353],"
                + "\"data\":\"/data/fmnist\"}";
        Path p = write("c.safetensors", state(R18_W4_MLP, "encoder_q.", 5),
                Map.of("format", "moco-ref-checkpoint/1", "config", config, "epoch", "3", "step", "30"));
        CheckpointModel m = CheckpointModel.load(p, ArchOverrides.NONE);
        assertEquals(28, m.imageSize());
        assertEquals("/data/fmnist", m.data());
        assertEquals(0.286, m.normalize().mean()[0], 1e-7);
        assertEquals(0.353, m.normalize().std()[0], 1e-7);
        assertEquals("moco-ref-checkpoint/1", m.format());
    }

    @Test
    void fillsAMissingBatchCounterAsTorchDoes() {
        Map<String, StoredTensor> t = state(BOTTLENECK_FC, "", 6);
        t.keySet().removeIf(n -> n.endsWith("num_batches_tracked"));
        CheckpointModel m = CheckpointModel.load(write("old.safetensors", t), ArchOverrides.NONE);
        assertEquals(0L, m.backbone().get("bn1.num_batches_tracked").toLongs()[0]);
    }

    @Test
    void overridesThatFitAreAccepted() {
        Path p = write("r18.safetensors", state(R18_W4_MLP, "", 7));
        CheckpointModel m = CheckpointModel.load(p, new ArchOverrides("resnet18", 4, "cifar", 1, 16, true));
        assertEquals(R18_W4_MLP, m.config());
    }

    private String failure(Path p, ArchOverrides o) {
        String msg = assertThrows(MocoRefException.class, () -> CheckpointModel.load(p, o)).getMessage();
        assertTrue(msg.startsWith(p.toString() + ": "), msg);
        assertFalse(msg.contains("\n"), msg);
        return msg;
    }

    private static void assertContains(String text, String part) {
        assertTrue(text.contains(part), text);
    }

    @Test
    void overridesThatDoNotFitAreOneLineErrorsNamingTheFile() {
        Path p = write("r18.safetensors", state(R18_W4_MLP, "encoder_q.", 8));
        ArchOverrides none = ArchOverrides.NONE;
        assertContains(failure(p, new ArchOverrides(null, 8, null, null, null, null)), "'encoder_q.conv1.weight' has shape [4, 1, 3, 3]");
        assertContains(failure(p, new ArchOverrides("resnet34", null, null, null, null, null)), "missing tensor 'encoder_q.layer1.2.conv1.weight'");
        assertContains(failure(p, new ArchOverrides("resnet50", null, null, null, null, null)), "but resnet50 (bottleneck [3, 4, 6, 3]");
        assertContains(failure(p, new ArchOverrides(null, null, "imagenet", null, null, null)), "conv1.weight");
        assertContains(failure(p, new ArchOverrides(null, null, null, 3, null, null)), "needs [4, 3, 3, 3]");
        assertContains(failure(p, new ArchOverrides(null, null, null, null, 32, null)), "'encoder_q.fc.2.weight' has shape [16, 32]");
        assertContains(failure(p, new ArchOverrides(null, null, null, null, null, false)), "missing tensor 'encoder_q.fc.weight'");
        assertContains(failure(p, new ArchOverrides(null, null, null, null, null, false)), "check --arch");

        Path deep = write("r34.safetensors", state(R34_W2, "", 9));
        String msg = failure(deep, new ArchOverrides("resnet18", null, null, null, null, null));
        assertTrue(msg.contains("unexpected tensor 'layer1.2.conv1.weight'"), msg);
        assertTrue(CheckpointModel.load(deep, none).describe().startsWith("resnet34"));
    }

    @Test
    void filesThatHoldNoEncoderAreOneLineErrors() {
        Path other = write("other.safetensors", Map.of("images", StoredTensor.f32(new float[4], 1, 1, 2, 2)));
        String msg = failure(other, ArchOverrides.NONE);
        assertTrue(msg.contains("no 'conv1.weight' under any known prefix"), msg);
        assertTrue(msg.contains("[images]"), msg);

        Map<String, StoredTensor> t = state(R18_W4_MLP, "", 10);
        t.put("conv1.weight", StoredTensor.f32(new float[4 * 5 * 5], 4, 1, 5, 5));
        assertContains(failure(write("k5.safetensors", t), ArchOverrides.NONE), "5x5 kernel");

        Path missing = dir.resolve("nope.safetensors");
        assertContains(failure(missing, ArchOverrides.NONE), "no such file");

        Path badConfig = write("bad.safetensors", state(R18_W4_MLP, "encoder_q.", 11),
                Map.of("format", "moco-ref-checkpoint/1", "config", "{not json"));
        assertContains(failure(badConfig, ArchOverrides.NONE), "'config' is not a JSON object");
    }

    @Test
    void theBackboneIsF32InTorchvisionOrderWithoutTheHead() {
        CheckpointModel m = CheckpointModel.load(write("q.safetensors", state(BOTTLENECK_FC, "module.encoder_q.", 12)), ArchOverrides.NONE);
        Map<String, StoredTensor> b = m.backbone();
        assertEquals(List.copyOf(ResNetLayout.of(BOTTLENECK_FC).backbone().keySet()), List.copyOf(b.keySet()));
        for (Map.Entry<String, StoredTensor> e : b.entrySet()) {
            assertEquals(e.getKey().endsWith("num_batches_tracked") ? mocoref.io.DType.I64 : mocoref.io.DType.F32, e.getValue().dtype(), e.getKey());
        }
        assertArrayEquals(new int[0], b.get("layer1.0.bn3.num_batches_tracked").shape());
    }
}
