package mocoref.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import mocoref.model.ResNetLayout;
import mocoref.MocoRefException;
import mocoref.backend.Backend;
import mocoref.backend.Encoder;
import mocoref.data.augment.Normalize;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.model.ResNetConfig.Block;
import mocoref.model.ResNetConfig.Stem;

/**
 * An encoder read from a safetensors file, whatever wrote it: a {@code moco-ref train} checkpoint
 * ({@code encoder_q.*} + metadata), an official MoCo checkpoint converted to safetensors
 * ({@code module.encoder_q.*}), a plain torchvision state dict ({@code conv1.weight}, ...), or a
 * backbone written by {@code moco-ref export} (no head).
 *
 * <p>The architecture is read off the tensors (the metadata of other tools cannot be relied on):
 * bottleneck blocks from {@code layer1.0.conv3}, blocks per stage by counting {@code layerS.I.},
 * width and image channels from {@code conv1.weight}'s shape, the stem from its kernel (7 or 3),
 * the head from {@code fc.0.weight} (MLP) or {@code fc.weight}, its dimension from the last fc's
 * rows. {@link ArchOverrides} replace any of these, and every tensor is then checked against the
 * resulting layout, so a wrong guess or a wrong override is a one-line error naming the file.
 */
public final class CheckpointModel {
    /** Where the query encoder may sit, in the order tried: moco-ref, official MoCo, torchvision, DataParallel. */
    public static final List<String> PREFIXES = List.of("encoder_q.", "module.encoder_q.", "", "module.");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final ResNetConfig config;
    private final boolean hasHead;
    private final String prefix;
    private final Map<String, StoredTensor> tensors;
    private final Normalize normalize;
    private final int imageSize;
    private final String data;
    private final String format;

    private CheckpointModel(Path path, ResNetConfig config, boolean hasHead, String prefix, Map<String, StoredTensor> tensors,
            Normalize normalize, int imageSize, String data, String format) {
        this.path = path;
        this.config = config;
        this.hasHead = hasHead;
        this.prefix = prefix;
        this.tensors = tensors;
        this.normalize = normalize;
        this.imageSize = imageSize;
        this.data = data;
        this.format = format;
    }

    /** Reads {@code path}, infers the architecture (with {@code overrides} applied) and checks every tensor against it. */
    public static CheckpointModel load(Path path, ArchOverrides overrides) {
        SafeTensorsFile file = SafeTensors.read(path);
        String where = path.toString();
        Map<String, StoredTensor> tensors = file.tensors();
        JsonNode meta = metadataConfig(file);
        String prefix = findPrefix(file);

        StoredTensor conv1 = tensors.get(prefix + "conv1.weight");
        int[] s = conv1.shape();
        if (s.length != 4) throw new MocoRefException(where + ": '" + prefix + "conv1.weight' has shape " + Arrays.toString(s) + ", not a 4-d convolution weight");
        int width = overrides.width() != null ? overrides.width() : s[0];
        int inChannels = overrides.inChannels() != null ? overrides.inChannels() : s[1];
        Stem stem = overrides.stem() != null ? Stem.parse(overrides.stem()) : stemOf(where, prefix, s);

        Block block;
        int[] layers;
        if (overrides.arch() != null) {
            ResNetConfig preset = ResNetConfig.preset(overrides.arch(), 1, 1, Stem.CIFAR, 1, false);
            block = preset.block();
            layers = preset.layers();
        } else {
            block = tensors.containsKey(prefix + "layer1.0.conv3.weight") ? Block.BOTTLENECK : Block.BASIC;
            layers = countBlocks(where, prefix, tensors);
        }

        boolean fileMlp = tensors.containsKey(prefix + "fc.0.weight");
        boolean fileFc = tensors.containsKey(prefix + "fc.weight");
        boolean hasHead = fileMlp || fileFc;
        JsonNode metaModel = meta == null ? null : meta.path("model");
        boolean mlp = overrides.mlp() != null ? overrides.mlp()
                : hasHead ? fileMlp : metaModel != null && metaModel.path("mlp").asBoolean(false);
        int dim;
        if (overrides.dim() != null) {
            dim = overrides.dim();
        } else if (hasHead) {
            StoredTensor last = tensors.get(prefix + (fileMlp ? "fc.2.weight" : "fc.weight"));
            if (last == null || last.shape().length != 2) {
                throw new MocoRefException(where + ": the MLP head's last layer '" + prefix + "fc.2.weight' is missing or not a matrix");
            }
            dim = last.shape()[0];
        } else { // no head: the dimension only labels the config; nothing is computed with it
            dim = metaModel != null ? metaModel.path("dim").asInt(128) : 128;
        }

        ResNetConfig config;
        try {
            config = new ResNetConfig(block, layers, width, inChannels, stem, dim, mlp);
        } catch (MocoRefException e) {
            throw new MocoRefException(where + ": " + e.getMessage());
        }
        Map<String, StoredTensor> checked = check(where, prefix, tensors, config, hasHead, overrides);

        Normalize normalize = null;
        int imageSize = 0;
        String data = null;
        if (meta != null) {
            normalize = normalizationOf(where, meta, inChannels);
            imageSize = meta.path("image_size").asInt(0);
            if (meta.path("data").isTextual()) data = meta.path("data").textValue();
        }
        String format = file.metadata().getOrDefault("format", prefix.equals("module.encoder_q.") ? "official MoCo checkpoint"
                : prefix.isEmpty() || prefix.equals("module.") ? "torchvision state dict" : "MoCo state");
        return new CheckpointModel(path, config, hasHead, prefix, Collections.unmodifiableMap(checked), normalize, imageSize, data, format);
    }

    public Path path() {
        return path;
    }

    /** The encoder's shape; when there is no head, {@code dim} and {@code mlp} only describe the training run, if known. */
    public ResNetConfig config() {
        return config;
    }

    /** Whether the file holds the projection head (an exported backbone does not). */
    public boolean hasHead() {
        return hasHead;
    }

    /** The prefix the encoder's tensors carry in the file ("encoder_q.", "module.encoder_q.", "" or "module."). */
    public String prefix() {
        return prefix;
    }

    /** The normalization the encoder was trained with, when the file says; else null. */
    public Normalize normalize() {
        return normalize;
    }

    /** The training image size, when the file says; else 0. */
    public int imageSize() {
        return imageSize;
    }

    /** The training data directory, when the file says; else null. */
    public String data() {
        return data;
    }

    /** The metadata's {@code format}, or what the names say the file is. */
    public String format() {
        return format;
    }

    /** Channels of the global-pooled features: 8 * width * expansion. */
    public int featureDim() {
        return config.featureChannels();
    }

    /**
     * An eval-mode encoder on {@code backend}. Without a head, the backends' encoders (which always
     * compute one) get a zero 1-row {@code fc} that nobody reads, and the embeddings are dropped.
     */
    public Encoder encoder(Backend backend) {
        if (hasHead) return backend.encoder(config, tensors, prefix, path.toString());
        Map<String, StoredTensor> withHead = new LinkedHashMap<>(tensors);
        withHead.put(prefix + "fc.weight", StoredTensor.f32(new float[featureDim()], 1, featureDim()));
        withHead.put(prefix + "fc.bias", StoredTensor.f32(new float[1], 1));
        ResNetConfig placeholder = new ResNetConfig(config.block(), config.layers(), config.width(), config.inChannels(),
                config.stem(), 1, false);
        Encoder inner = backend.encoder(placeholder, withHead, prefix, path.toString());
        return images -> {
            Encoder.Encoded e = inner.encode(images);
            return new Encoder.Encoded(e.features(), null, e.n(), e.featureDim(), 0);
        };
    }

    /**
     * The backbone under torchvision's names, in torchvision's order: float tensors as F32,
     * {@code num_batches_tracked} as I64 {@code []}. What {@code export} writes.
     */
    public Map<String, StoredTensor> backbone() {
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        for (String name : ResNetLayout.of(config).backbone().keySet()) {
            StoredTensor t = tensors.get(prefix + name);
            if (name.endsWith(".num_batches_tracked")) {
                out.put(name, StoredTensor.i64(new long[] {t.toLongs()[0]}));
            } else {
                out.put(name, t.dtype() == DType.F32 ? t : StoredTensor.f32(t.toFloats(), t.shape()));
            }
        }
        return out;
    }

    /** "resnet18 (basic [2, 2, 2, 2], width 16, 1 channel, cifar stem, mlp head dim 128)". */
    public String describe() {
        return describe(config, hasHead);
    }

    static String describe(ResNetConfig c, boolean hasHead) {
        String arch = ResNetLayout.of(c).archName();
        String head = !hasHead ? "no head" : (c.mlp() ? "mlp head" : "fc head") + " dim " + c.dim();
        return (arch == null ? "resnet" : arch) + " (" + c.block().id() + " " + Arrays.toString(c.layers()) + ", width " + c.width()
                + ", " + c.inChannels() + (c.inChannels() == 1 ? " channel, " : " channels, ") + c.stem().id() + " stem, " + head + ")";
    }

    /**
     * The {@code config} metadata JSON describing this encoder for a file derived from it
     * ({@code model} without a head when {@code withHead} is false), with the normalization, image
     * size and data directory where known, so that the derived file evaluates the same way.
     */
    public String configJson(boolean withHead) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("block", config.block().id());
        ArrayNode layers = model.putArray("layers");
        for (int n : config.layers()) layers.add(n);
        model.put("width", config.width());
        model.put("in_channels", config.inChannels());
        model.put("stem", config.stem().id());
        if (withHead && hasHead) {
            model.put("dim", config.dim());
            model.put("mlp", config.mlp());
        }
        if (imageSize > 0) root.put("image_size", imageSize);
        if (normalize != null) {
            ArrayNode mean = root.putArray("normalize_mean");
            for (double v : normalize.mean()) mean.add(v);
            ArrayNode std = root.putArray("normalize_std");
            for (double v : normalize.std()) std.add(v);
        }
        if (data != null) root.put("data", data);
        return root.toString();
    }

    private static JsonNode metadataConfig(SafeTensorsFile file) {
        String text = file.metadata().get("config");
        if (text == null) return null;
        try {
            JsonNode node = JSON.readTree(text);
            if (node != null && node.isObject()) return node;
        } catch (JsonProcessingException e) {
            // handled below
        }
        if (file.metadata().getOrDefault("format", "").startsWith("moco-ref")) {
            throw new MocoRefException(file.path() + ": metadata 'config' is not a JSON object, though format is '"
                    + file.metadata().get("format") + "'");
        }
        return null; // another tool's 'config' string: nothing we rely on
    }

    private static String findPrefix(SafeTensorsFile file) {
        for (String p : PREFIXES) {
            if (file.has(p + "conv1.weight")) return p;
        }
        List<String> some = file.names().stream().limit(3).toList();
        throw new MocoRefException(file.path() + ": no encoder found: no 'conv1.weight' under any known prefix "
                + "('encoder_q.', 'module.encoder_q.', none, 'module.'); the file's " + file.names().size()
                + " tensors begin " + some);
    }

    private static Stem stemOf(String where, String prefix, int[] conv1) {
        if (conv1[2] == 7 && conv1[3] == 7) return Stem.IMAGENET;
        if (conv1[2] == 3 && conv1[3] == 3) return Stem.CIFAR;
        throw new MocoRefException(where + ": '" + prefix + "conv1.weight' is a " + conv1[2] + "x" + conv1[3]
                + " kernel; known stems are 7x7 (imagenet) and 3x3 (cifar)");
    }

    private static int[] countBlocks(String where, String prefix, Map<String, StoredTensor> tensors) {
        int[] layers = new int[4];
        for (int s = 0; s < 4; s++) {
            while (tensors.containsKey(prefix + "layer" + (s + 1) + "." + layers[s] + ".conv1.weight")) layers[s]++;
            if (layers[s] == 0) {
                throw new MocoRefException(where + ": no blocks in stage " + (s + 1) + " (no '" + prefix + "layer" + (s + 1)
                        + ".0.conv1.weight'); not a ResNet with four stages");
            }
        }
        return layers;
    }

    /**
     * Every tensor the layout needs, with its shape; nothing unexpected under the prefix (a
     * ResNet-34 read as a ResNet-18 would otherwise lose blocks silently). Returns the tensors, with
     * {@code num_batches_tracked} added as 0 where missing (older PyTorch wrote none; torch
     * itself fills it so).
     */
    private static Map<String, StoredTensor> check(String where, String prefix, Map<String, StoredTensor> tensors,
            ResNetConfig config, boolean hasHead, ArchOverrides overrides) {
        Map<String, int[]> expected = new LinkedHashMap<>(ResNetLayout.of(config).backbone());
        if (hasHead) expected.putAll(ResNetLayout.of(config).headStateDict());
        String hint = overrides.equals(ArchOverrides.NONE) ? " (architecture inferred from the tensors)"
                : " (check --arch, --width, --stem, --in-channels, --moco-dim, --mlp)";
        String model = describe(config, hasHead);
        Map<String, StoredTensor> out = new LinkedHashMap<>(tensors);
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            String name = prefix + e.getKey();
            StoredTensor t = tensors.get(name);
            if (t == null) {
                if (e.getKey().endsWith(".num_batches_tracked")) {
                    out.put(name, StoredTensor.i64(new long[] {0}));
                    continue;
                }
                throw new MocoRefException(where + ": missing tensor '" + name + "' needed by " + model + hint);
            }
            int[] want = e.getValue();
            int[] have = t.shape();
            boolean scalarCount = e.getKey().endsWith(".num_batches_tracked") && t.numel() == 1;
            if (!scalarCount && !Arrays.equals(have, want)) {
                throw new MocoRefException(where + ": tensor '" + name + "' has shape " + Arrays.toString(have) + ", but "
                        + model + " needs " + Arrays.toString(want) + hint);
            }
        }
        for (String name : tensors.keySet()) {
            if (!name.startsWith(prefix)) continue;
            String rest = name.substring(prefix.length());
            if (ResNetLayout.looksLikeResNet(rest) && !expected.containsKey(rest)) {
                throw new MocoRefException(where + ": unexpected tensor '" + name + "' for " + model + hint);
            }
        }
        return out;
    }

    private static Normalize normalizationOf(String where, JsonNode meta, int channels) {
        JsonNode mean = meta.path("normalize_mean");
        JsonNode std = meta.path("normalize_std");
        if (!mean.isArray() || !std.isArray()) return null;
        if (mean.size() != channels || std.size() != channels) {
            throw new MocoRefException(where + ": metadata normalize_mean/normalize_std have " + mean.size() + "/" + std.size()
                    + " values, the encoder takes " + channels + " channels");
        }
        double[] m = new double[channels];
        double[] s = new double[channels];
        for (int c = 0; c < channels; c++) {
            m[c] = mean.get(c).asDouble();
            s[c] = std.get(c).asDouble();
        }
        try {
            return new Normalize(m, s);
        } catch (IllegalArgumentException e) {
            throw new MocoRefException(where + ": metadata normalization: " + e.getMessage());
        }
    }
}
