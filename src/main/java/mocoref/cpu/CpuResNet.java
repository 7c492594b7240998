package mocoref.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import mocoref.MocoRefException;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;

/**
 * The encoder in float32 for a fixed batch size: torchvision's ResNet layout and names, activations
 * in the {@link Plane} layout, every buffer allocated once here. {@code groups} is the number of
 * logical devices BatchNorm normalizes separately in training, or {@link #EVAL}.
 */
final class CpuResNet {
    static final int EVAL = 0;

    final ResNetConfig config;
    final int batch;
    final Params params = new Params();
    private final boolean trainable;
    private final Plane inputPlane;
    private final CpuConv2d conv1;
    private final CpuBatchNorm2d bn1;
    private final Pooling.Max maxpool; // imagenet stem only
    private final List<CpuBlock> blocks = new ArrayList<>();
    private final Pooling.GlobalAvg avgpool;
    private final CpuLinear fc, fc2; // fc (or fc.0 of the MLP head), fc.2 (MLP only)
    /** Every layer with state, under its torchvision module name, in torchvision's order. */
    private final Map<String, Object> modules = new LinkedHashMap<>();

    private final float[] input, stemConv, stemOut, pooled;
    private final float[] features, hidden, hiddenRelu, output;
    private final float[] dFeatures, dHidden, dLast, dStem, dPooled, dStemConv;

    CpuResNet(ResNetConfig config, int batch, int[] image, int maxGroups, boolean trainable,
              Kernels kernels, WorkerPool pool, Workspace ws) {
        this.config = config;
        this.batch = batch;
        this.trainable = trainable;
        int nr = kernels.nr(), w = config.width();
        inputPlane = Plane.of(batch, image[1], image[2], nr);
        boolean imagenet = config.stem() == ResNetConfig.Stem.IMAGENET;
        conv1 = imagenet
                ? new CpuConv2d("conv1", params, config.inChannels(), w, 7, 2, 3, inputPlane, kernels, pool, ws, trainable)
                : new CpuConv2d("conv1", params, config.inChannels(), w, 3, 1, 1, inputPlane, kernels, pool, ws, trainable);
        bn1 = new CpuBatchNorm2d("bn1", params, w, conv1.dst, maxGroups, kernels, pool);
        modules.put("conv1", conv1);
        modules.put("bn1", bn1);
        maxpool = imagenet ? new Pooling.Max(w, 3, 2, 1, conv1.dst, nr, pool) : null;
        Plane p = imagenet ? maxpool.dst : conv1.dst;
        int inPlanes = w;
        for (int stage = 0; stage < 4; stage++) {
            int planes = w << stage;
            for (int i = 0; i < config.layers()[stage]; i++) {
                int stride = (stage > 0 && i == 0) ? 2 : 1;
                String prefix = "layer" + (stage + 1) + "." + i + ".";
                CpuBlock block = config.block() == ResNetConfig.Block.BASIC
                        ? new CpuBasicBlock(prefix, params, inPlanes, planes, stride, p, maxGroups, kernels, pool, ws, trainable)
                        : new CpuBottleneck(prefix, params, inPlanes, planes, stride, p, maxGroups, kernels, pool, ws, trainable);
                block.register(prefix, modules);
                blocks.add(block);
                p = block.outPlane();
                inPlanes = block.outChannels();
            }
        }
        int c = config.featureChannels();
        avgpool = new Pooling.GlobalAvg(c, p, kernels, pool);
        Gemm gemm = new Gemm(kernels, pool);
        if (config.mlp()) {
            fc = new CpuLinear("fc.0", params, c, c, gemm);
            fc2 = new CpuLinear("fc.2", params, c, config.dim(), gemm);
            modules.put("fc.0", fc);
            modules.put("fc.2", fc2);
        } else {
            fc = new CpuLinear("fc", params, c, config.dim(), gemm);
            fc2 = null;
            modules.put("fc", fc);
        }
        params.allocate(trainable);
        // what a trainable encoder's backward reads has buffers of its own; the rest is shared (see Workspace)
        int t = Workspace.TRANSIENT;
        input = new float[inputPlane.size(config.inChannels())];
        stemConv = trainable ? new float[conv1.dst.size(w)] : ws.activation(conv1.dst, w, t);
        stemOut = trainable ? new float[conv1.dst.size(w)]
                : ws.activation(conv1.dst, w, imagenet ? t + 1 : Workspace.HANDOFF);
        pooled = !imagenet ? null : trainable ? new float[maxpool.dst.size(w)] : ws.activation(maxpool.dst, w, Workspace.HANDOFF);
        features = new float[batch * c];
        hidden = config.mlp() ? new float[batch * c] : null;
        hiddenRelu = config.mlp() ? new float[batch * c] : null;
        output = new float[batch * config.dim()];
        dFeatures = trainable ? new float[batch * c] : null;
        dHidden = trainable && config.mlp() ? new float[batch * c] : null;
        dLast = trainable ? ws.activation(p, c, Workspace.HANDOFF) : null;
        dStem = trainable ? ws.activation(conv1.dst, w, t) : null;
        dPooled = trainable && imagenet ? ws.activation(conv1.dst, w, t + 2) : null;
        dStemConv = trainable ? ws.activation(conv1.dst, w, t + 1) : null;
    }

    /**
     * images [N, C, H, W] (image b taken from row order[b], or b when order is null) -> head output
     * [N][dim] (a buffer this encoder owns, valid until its next forward).
     */
    float[] forward(double[] images, int[] order, int groups) {
        inputPlane.load(images, config.inChannels(), order, input);
        conv1.forward(input, stemConv);
        CpuBlock.bn(bn1, stemConv, null, true, stemOut, groups);
        float[] h = stemOut;
        if (maxpool != null) {
            maxpool.forward(stemOut, pooled);
            h = pooled;
        }
        for (CpuBlock b : blocks) h = b.forward(h, groups);
        avgpool.forward(h, features);
        if (fc2 == null) {
            fc.forward(features, output, batch);
        } else {
            fc.forward(features, hidden, batch);
            for (int i = 0; i < hidden.length; i++) hiddenRelu[i] = Math.max(hidden[i], 0f);
            fc2.forward(hiddenRelu, output, batch);
        }
        return output;
    }

    /** Global-pooled features [N][8*width*expansion] of the last forward. */
    float[] features() {
        return features;
    }

    /** dOut [N][dim] -> adds into every parameter's gradient (the image gradient is not needed). */
    void backward(float[] dOut) {
        if (!trainable) throw new IllegalStateException("this encoder was built without gradients");
        if (fc2 == null) {
            fc.backward(dOut, features, dFeatures, batch);
        } else {
            fc2.backward(dOut, hiddenRelu, dHidden, batch);
            for (int i = 0; i < dHidden.length; i++) if (hidden[i] <= 0) dHidden[i] = 0;
            fc.backward(dHidden, features, dFeatures, batch);
        }
        float[] d = blocks.get(blocks.size() - 1).backward(avgGrad());
        for (int i = blocks.size() - 2; i >= 0; i--) d = blocks.get(i).backward(d);
        if (maxpool != null) {
            maxpool.backward(d, dPooled);
            d = dPooled;
        }
        bn1.backward(d, stemOut, stemConv, dStem, dStemConv);
        conv1.backward(dStemConv, input, null, false);
    }

    private float[] avgGrad() {
        avgpool.backward(dFeatures, dLast);
        return dLast;
    }

    /** Parameters and buffers as torchvision's {@code state_dict()}, float32, names prefixed by {@code prefix}. */
    Map<String, StoredTensor> stateDict(String prefix) {
        Map<String, StoredTensor> state = new LinkedHashMap<>();
        Map<String, Params.Entry> byName = new LinkedHashMap<>();
        for (Params.Entry e : params.entries()) byName.put(e.name(), e);
        modules.forEach((name, m) -> {
            String p = prefix + name;
            if (m instanceof CpuConv2d) {
                state.put(p + ".weight", param(byName.get(name + ".weight")));
            } else if (m instanceof CpuBatchNorm2d bn) {
                state.put(p + ".weight", param(byName.get(name + ".weight")));
                state.put(p + ".bias", param(byName.get(name + ".bias")));
                state.put(p + ".running_mean", StoredTensor.f32(bn.runningMean.clone(), bn.channels));
                state.put(p + ".running_var", StoredTensor.f32(bn.runningVar.clone(), bn.channels));
                state.put(p + ".num_batches_tracked", StoredTensor.i64(new long[] {bn.numBatchesTracked}));
            } else if (m instanceof CpuLinear) {
                state.put(p + ".weight", param(byName.get(name + ".weight")));
                state.put(p + ".bias", param(byName.get(name + ".bias")));
            }
        });
        return state;
    }

    private StoredTensor param(Params.Entry e) {
        return StoredTensor.f32(Arrays.copyOfRange(params.value, e.offset(), e.offset() + e.size()), e.shape());
    }

    /**
     * Loads every parameter and buffer named {@code prefix + torchvision name} from {@code source}
     * (null for a missing name); a missing tensor or a wrong shape is an error naming it and {@code where}.
     */
    void loadStateDict(Function<String, StoredTensor> source, String prefix, String where) {
        for (Map.Entry<String, StoredTensor> e : stateDict("").entrySet()) {
            String name = prefix + e.getKey();
            StoredTensor t = source.apply(name);
            if (t == null) throw new MocoRefException(where + ": missing tensor '" + name + "'");
            int[] want = e.getValue().shape();
            if (!Arrays.equals(t.shape(), want)) {
                throw new MocoRefException(where + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                        + ", the model (" + config + ") needs " + Arrays.toString(want));
            }
        }
        for (Params.Entry e : params.entries()) {
            System.arraycopy(source.apply(prefix + e.name()).toFloats(), 0, params.value, e.offset(), e.size());
        }
        modules.forEach((name, m) -> {
            if (m instanceof CpuBatchNorm2d bn) {
                String p = prefix + name;
                System.arraycopy(source.apply(p + ".running_mean").toFloats(), 0, bn.runningMean, 0, bn.channels);
                System.arraycopy(source.apply(p + ".running_var").toFloats(), 0, bn.runningVar, 0, bn.channels);
                bn.numBatchesTracked = source.apply(p + ".num_batches_tracked").toLongs()[0];
            }
        });
    }

    /** Every module under its torchvision name, in state-dict order (for per-layer timing and tests). */
    Map<String, Object> modules() {
        return modules;
    }
}
