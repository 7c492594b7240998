package mocoref.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;

/**
 * A training checkpoint: the whole MoCo state under the golden-case spec's names (both encoders
 * with torchvision names under {@code encoder_q.} and {@code encoder_k.}, {@code queue},
 * {@code queue_ptr}, SGD's momentum buffers) and, in the metadata, the configuration, the epochs
 * and steps done, the thread count and backend, the metrics lines of every epoch done, and the
 * SHA-256 of the tensor data. Every random draw of a run derives from (seed, epoch, step), so this
 * is all {@code --resume} needs to continue bit for bit.
 *
 * @param backend  the backend that trained it; null in checkpoints written before it was recorded
 * @param metrics  metrics.jsonl's lines for epochs 1..epoch; null in checkpoints written before they were kept
 */
public record Checkpoint(TrainConfig config, int epoch, long step, int threads, String backend, List<String> metrics,
                         Map<String, StoredTensor> state) {
    public static final String FORMAT = "moco-ref-checkpoint/1";
    /** The run directory's latest checkpoint, which {@code --resume DIR} continues. */
    public static final String LAST = "checkpoint_last.safetensors";

    /** The checkpoint kept for epoch {@code epoch} (1-based): checkpoint_epoch003.safetensors. */
    public static String epochFile(int epoch) {
        return String.format("checkpoint_epoch%03d.safetensors", epoch);
    }

    /** Written to a temporary file, forced and renamed (SafeTensors.write), so a crash never loses the previous one. */
    public void write(Path file) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("config", config.toJson());
        meta.put("epoch", Integer.toString(epoch));
        meta.put("step", Long.toString(step));
        meta.put("threads", Integer.toString(threads));
        meta.put("backend", backend);
        meta.put("metrics", String.join("\n", metrics));
        SafeTensors.write(file, state, meta, true);
    }

    public static Checkpoint read(Path file) {
        if (!Files.isRegularFile(file)) throw new MocoRefException(file + ": no such checkpoint");
        SafeTensorsFile f = SafeTensors.read(file);
        Map<String, String> meta = f.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new MocoRefException(file + ": not a moco-ref training checkpoint (metadata format is "
                    + (meta.get("format") == null ? "missing" : "'" + meta.get("format") + "'") + ", expected '" + FORMAT + "')");
        }
        String metrics = meta.get("metrics");
        try {
            return new Checkpoint(TrainConfig.fromJson(meta.get("config"), file.toString()),
                    Integer.parseInt(meta.get("epoch")), Long.parseLong(meta.get("step")),
                    Integer.parseInt(meta.getOrDefault("threads", "0")), meta.get("backend"),
                    metrics == null ? null : metrics.lines().filter(l -> !l.isBlank()).toList(), f.tensors());
        } catch (NumberFormatException e) {
            throw new MocoRefException(file + ": checkpoint metadata epoch/step/threads is not a number");
        }
    }
}
