package mocoref.float32;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import mocoref.MocoRefException;
import mocoref.device.Buffer;
import mocoref.device.Device;
import mocoref.device.ParamRef;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetLayout;

/**
 * One encoder's state on a device: every trainable parameter in one flat buffer, in torchvision's
 * {@code named_parameters()} order (so that SGD, the momentum update and zeroing gradients are
 * single operations over one buffer), its gradient beside it when the encoder trains, and the
 * BatchNorm buffers (running_mean and running_var per layer in a second buffer, the
 * num_batches_tracked counters on the host). Several networks (the training one, an eval one of
 * another batch size) can run on the same weights.
 */
public final class EncoderWeights {
    /** A parameter's torchvision name (without prefix), shape and where its values start. */
    public record Entry(String name, int[] shape, long offset, int size) {}

    final ResNetLayout layout;
    final Device device;
    final Buffer value;
    final Buffer grad;
    /** Per BatchNorm i of layout.norms(): running_mean at statsOffset[i], running_var after it. */
    final Buffer runningStats;
    final long[] numBatchesTracked;
    private final long[] statsOffset;
    private final Map<String, Integer> normIndex = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final long total;

    /** Zeroed weights of {@code layout} on {@code device}; with a gradient buffer when {@code trainable}. */
    public EncoderWeights(Device device, ResNetLayout layout, boolean trainable) {
        this.device = device;
        this.layout = layout;
        long offset = 0;
        for (ResNetLayout.Param p : layout.parameters()) {
            entries.put(p.name(), new Entry(p.name(), p.shape(), offset, p.size()));
            offset += p.size();
        }
        total = offset;
        value = device.buffer(total);
        grad = trainable ? device.buffer(total) : null;
        List<ResNetLayout.Norm> norms = layout.norms();
        statsOffset = new long[norms.size()];
        long s = 0;
        for (int i = 0; i < norms.size(); i++) {
            normIndex.put(norms.get(i).name(), i);
            statsOffset[i] = s;
            s += 2L * norms.get(i).channels();
        }
        runningStats = device.buffer(s);
        numBatchesTracked = new long[norms.size()];
    }

    public List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    /** Floats of all parameters together. */
    public long total() {
        return total;
    }

    public boolean trainable() {
        return grad != null;
    }

    ParamRef param(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("no parameter " + name);
        return new ParamRef(value, grad, e.offset(), e.size());
    }

    /** The BatchNorm layer {@code norm} on this state, for activations of n images h x w. */
    Device.BatchNorm2d batchNorm(ResNetLayout.Norm norm, int n, int h, int w, int maxGroups) {
        int i = normIndex.get(norm.name());
        return device.batchNorm2d(norm.channels(), n, h, w, maxGroups, param(norm.name() + ".weight"),
                param(norm.name() + ".bias"), runningStats, statsOffset[i], statsOffset[i] + norm.channels());
    }

    /** After a training-mode forward: every BatchNorm's num_batches_tracked grows by one. */
    void countBatch() {
        for (int i = 0; i < numBatchesTracked.length; i++) numBatchesTracked[i]++;
    }

    void zeroGrad() {
        device.fill(grad, 0, total, 0f);
    }

    /** Parameters and buffers as torchvision's {@code state_dict()}, float32, names prefixed by {@code prefix}. */
    public Map<String, StoredTensor> stateDict(String prefix) {
        float[] params = new float[Math.toIntExact(total)];
        device.read(value, 0, params, 0, params.length);
        float[] stats = new float[Math.toIntExact(runningStats.floats())];
        device.read(runningStats, 0, stats, 0, stats.length);
        Map<String, StoredTensor> state = new LinkedHashMap<>();
        List<ResNetLayout.Norm> norms = layout.norms();
        for (String name : layout.stateDict().keySet()) {
            Entry e = entries.get(name);
            if (e != null) {
                int from = Math.toIntExact(e.offset());
                state.put(prefix + name, StoredTensor.f32(Arrays.copyOfRange(params, from, from + e.size()), e.shape()));
                continue;
            }
            int dot = name.lastIndexOf('.');
            int i = normIndex.get(name.substring(0, dot));
            int c = norms.get(i).channels(), from = Math.toIntExact(statsOffset[i]);
            switch (name.substring(dot + 1)) {
                case "running_mean" -> state.put(prefix + name, StoredTensor.f32(Arrays.copyOfRange(stats, from, from + c), c));
                case "running_var" -> state.put(prefix + name, StoredTensor.f32(Arrays.copyOfRange(stats, from + c, from + 2 * c), c));
                default -> state.put(prefix + name, StoredTensor.i64(new long[] {numBatchesTracked[i]}));
            }
        }
        return state;
    }

    /**
     * Loads every parameter and buffer named {@code prefix + torchvision name} from {@code source}
     * (null for a missing name); a missing tensor or a wrong shape is an error naming it and {@code where}.
     */
    public void load(Function<String, StoredTensor> source, String prefix, String where) {
        Map<String, int[]> want = layout.stateDict();
        for (Map.Entry<String, int[]> e : want.entrySet()) {
            String name = prefix + e.getKey();
            StoredTensor t = source.apply(name);
            if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new MocoRefException(where + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + ", the model (" + layout.config() + ") needs " + Arrays.toString(e.getValue()));
            }
        }
        // tensor by tensor: a staging copy of all parameters would be garbage the size of the model
        // that the heap grows past (no collection runs before the activations are allocated)
        for (Entry e : entries.values()) {
            device.write(source.apply(prefix + e.name()).toFloats(), 0, value, e.offset(), e.size());
        }
        float[] stats = new float[Math.toIntExact(runningStats.floats())];
        List<ResNetLayout.Norm> norms = layout.norms();
        for (int i = 0; i < norms.size(); i++) {
            String p = prefix + norms.get(i).name();
            int c = norms.get(i).channels(), from = Math.toIntExact(statsOffset[i]);
            System.arraycopy(source.apply(p + ".running_mean").toFloats(), 0, stats, from, c);
            System.arraycopy(source.apply(p + ".running_var").toFloats(), 0, stats, from + c, c);
            numBatchesTracked[i] = source.apply(p + ".num_batches_tracked").toLongs()[0];
        }
        device.write(stats, 0, runningStats, 0, stats.length);
    }
}
