package mocoref.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import mocoref.MocoRefException;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;

/**
 * A golden case directory ({@code case.json}, {@code init}, {@code inputs}, {@code expected}) in
 * the {@code moco-golden/1} format of the spec.
 *
 * @param float32Held whether float32 backends are held to this case (it is well conditioned);
 *                    absent in a case means held unless its per-device batch is below 4
 */
public record GoldenCase(Path dir, MocoConfig config, int steps, String dtype, boolean float32Held) {
    public static final String FORMAT = "moco-golden/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    public Path initFile() {
        return dir.resolve("init.safetensors");
    }

    public Path inputsFile() {
        return dir.resolve("inputs.safetensors");
    }

    public Path expectedFile() {
        return dir.resolve("expected.safetensors");
    }

    public String name() {
        return dir.getFileName().toString();
    }

    public static GoldenCase load(Path dir) {
        Path file = dir.resolve("case.json");
        if (!Files.isDirectory(dir)) throw new MocoRefException(dir + ": not a golden case directory");
        if (!Files.isRegularFile(file)) throw new MocoRefException(file + ": missing (a golden case needs case.json)");
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new MocoRefException(file + ": not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
        Reader r = new Reader(file);
        if (root == null || !root.isObject()) throw new MocoRefException(file + ": expected a JSON object");
        String format = r.text(root, "format");
        if (!FORMAT.equals(format)) throw new MocoRefException(file + ": format is '" + format + "', expected '" + FORMAT + "'");
        JsonNode model = r.object(root, "model"), moco = r.object(root, "moco"), optim = r.object(root, "optim");
        ResNetConfig net;
        try {
            net = new ResNetConfig(ResNetConfig.Block.parse(r.text(model, "block")), r.ints(model, "layers"),
                    r.integer(model, "width"), r.integer(model, "in_channels"),
                    ResNetConfig.Stem.parse(r.text(model, "stem")), r.integer(model, "dim"), r.bool(model, "mlp", false));
        } catch (MocoRefException e) {
            throw new MocoRefException(file + ": model: " + e.getMessage());
        }
        MocoConfig.MomentumSchedule schedule = MocoConfig.MomentumSchedule.parse(
                moco.has("m_schedule") ? r.text(moco, "m_schedule") : "constant");
        MocoConfig config = new MocoConfig(net,
                r.integer(moco, "K"), r.number(moco, "m"), r.number(moco, "T"), r.integer(moco, "devices"),
                schedule, moco.has("total_steps") ? r.integer(moco, "total_steps") : 0,
                moco.has("step_offset") ? r.integer(moco, "step_offset") : 0, r.bool(moco, "symmetric", false),
                r.number(optim, "lr"), r.number(optim, "momentum"), r.number(optim, "weight_decay"),
                r.integer(root, "batch"), r.ints(root, "image"),
                MocoConfig.Mechanism.parse(moco.has("mechanism") ? r.text(moco, "mechanism") : "moco"),
                r.bool(moco, "shuffle_bn", true));
        try {
            config.validate();
        } catch (MocoRefException e) {
            throw new MocoRefException(file + ": " + e.getMessage());
        }
        String dtype = r.text(root, "dtype");
        if (!dtype.equals("float64") && !dtype.equals("float32")) {
            throw new MocoRefException(file + ": dtype '" + dtype + "' (expected float64 or float32)");
        }
        int steps = r.integer(root, "steps");
        if (steps < 1) throw new MocoRefException(file + ": steps must be at least 1");
        boolean held = config.batch() / config.devices() >= 4;
        JsonNode f32 = root.get("float32");
        if (f32 != null && f32.isObject() && f32.has("held")) held = r.bool(f32, "held", held);
        return new GoldenCase(dir, config, steps, dtype, held);
    }

    /** case.json for a configuration, as {@code golden make} writes it. */
    public static ObjectNode toJson(MocoConfig c, int steps, String dtype) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        ObjectNode model = root.putObject("model");
        ResNetConfig n = c.model();
        model.put("block", n.block().id());
        ArrayNode layers = model.putArray("layers");
        for (int l : n.layers()) layers.add(l);
        model.put("width", n.width());
        model.put("in_channels", n.inChannels());
        model.put("stem", n.stem().id());
        model.put("dim", n.dim());
        model.put("mlp", n.mlp());
        ObjectNode moco = root.putObject("moco");
        moco.put("K", c.K());
        moco.put("m", c.m());
        moco.put("T", c.T());
        moco.put("devices", c.devices());
        if (c.mSchedule() != MocoConfig.MomentumSchedule.CONSTANT) {
            moco.put("m_schedule", c.mSchedule().id());
            moco.put("total_steps", c.totalSteps());
            moco.put("step_offset", c.stepOffset());
        }
        if (c.symmetric()) moco.put("symmetric", true);
        if (c.mechanism() != MocoConfig.Mechanism.MOCO) moco.put("mechanism", c.mechanism().id());
        if (!c.shuffleBn()) moco.put("shuffle_bn", false);
        ObjectNode optim = root.putObject("optim");
        optim.put("lr", c.lr());
        optim.put("momentum", c.momentum());
        optim.put("weight_decay", c.weightDecay());
        root.put("batch", c.batch());
        ArrayNode image = root.putArray("image");
        for (int d : c.image()) image.add(d);
        root.put("steps", steps);
        root.put("dtype", dtype);
        return root;
    }

    public static void writeJson(Path file, JsonNode node) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), node);
        } catch (IOException e) {
            throw new MocoRefException(file + ": cannot write (" + e.getMessage() + ")");
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Typed field access whose errors name the file and the field. */
    private record Reader(Path file) {
        JsonNode field(JsonNode parent, String name) {
            JsonNode v = parent.get(name);
            if (v == null || v.isNull()) throw new MocoRefException(file + ": missing field '" + name + "'");
            return v;
        }

        JsonNode object(JsonNode parent, String name) {
            JsonNode v = field(parent, name);
            if (!v.isObject()) throw new MocoRefException(file + ": field '" + name + "' must be an object");
            return v;
        }

        String text(JsonNode parent, String name) {
            JsonNode v = field(parent, name);
            if (!v.isTextual()) throw new MocoRefException(file + ": field '" + name + "' must be a string");
            return v.asText();
        }

        int integer(JsonNode parent, String name) {
            JsonNode v = field(parent, name);
            if (!v.canConvertToInt() || !(v.isIntegralNumber() || (v.isNumber() && v.asDouble() == Math.rint(v.asDouble())))) {
                throw new MocoRefException(file + ": field '" + name + "' must be an integer, got " + v);
            }
            return v.asInt();
        }

        double number(JsonNode parent, String name) {
            JsonNode v = field(parent, name);
            if (!v.isNumber()) throw new MocoRefException(file + ": field '" + name + "' must be a number, got " + v);
            return v.asDouble();
        }

        boolean bool(JsonNode parent, String name, boolean dflt) {
            JsonNode v = parent.get(name);
            if (v == null || v.isNull()) return dflt;
            if (!v.isBoolean()) throw new MocoRefException(file + ": field '" + name + "' must be true or false, got " + v);
            return v.asBoolean();
        }

        int[] ints(JsonNode parent, String name) {
            JsonNode v = field(parent, name);
            if (!v.isArray()) throw new MocoRefException(file + ": field '" + name + "' must be an array of integers");
            int[] out = new int[v.size()];
            for (int i = 0; i < out.length; i++) {
                if (!v.get(i).isIntegralNumber()) throw new MocoRefException(file + ": field '" + name + "' must hold integers, got " + v);
                out[i] = v.get(i).asInt();
            }
            return out;
        }
    }
}
