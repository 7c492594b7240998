package mocoref.reference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import mocoref.MocoRefException;
import mocoref.io.StoredTensor;
import mocoref.model.FreshState;
import mocoref.model.ResNetConfig;
import mocoref.model.ResNetLayout;
import mocoref.tensor.Tensor;

/**
 * The encoder: torchvision's ResNet with a configurable width, stem and head, in float64.
 * Tensor names in {@link #stateDict} are torchvision's state-dict names, so weights move to and
 * from PyTorch unchanged.
 *
 * <p>{@code groups} is the number of logical devices: in training every BatchNorm normalizes each
 * of {@code groups} contiguous chunks of the batch on its own, which is what G GPUs do. All other
 * layers act on each sample alone, so one forward over the whole batch is exactly G forwards over
 * the chunks.
 */
public final class ResNet {
    /** Pass as {@code groups} for eval mode: BatchNorm uses its running statistics. */
    public static final int EVAL = 0;

    public final ResNetConfig config;
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Relu relu = new Relu();
    private final MaxPool2d maxpool; // imagenet stem only
    private final List<ResidualBlock> blocks = new ArrayList<>();
    private final GlobalAvgPool avgpool = new GlobalAvgPool();
    private final Linear fc; // fc, or fc.0 of the MLP head
    private final Relu fcRelu; // MLP head only
    private final Linear fc2; // MLP head only
    /** Every layer with state, under its torchvision module name, in torchvision's order. */
    private final Map<String, Object> modules = new LinkedHashMap<>();
    private final List<String> blockNames = new ArrayList<>();
    /** --detect-anomaly: shown every stage's output and gradient (named), or null. */
    private java.util.function.BiConsumer<String, Tensor> inspect;

    /** Shows {@code inspect} the stem's, every block's and the head's outputs and the gradients at their inputs. */
    public void inspect(java.util.function.BiConsumer<String, Tensor> inspect) {
        this.inspect = inspect;
    }

    private Tensor seen(String what, Tensor t) {
        if (inspect != null) inspect.accept(what, t);
        return t;
    }

    /** The layers {@link ResNetLayout} describes for {@code config}, uninitialized (zero weights, fresh BatchNorms). */
    public ResNet(ResNetConfig config) {
        this.config = config;
        ResNetLayout layout = ResNetLayout.of(config);
        conv1 = conv(layout.conv1(), modules);
        bn1 = bn(layout.bn1(), modules);
        maxpool = layout.maxPool() ? new MaxPool2d(3, 2, 1) : null;
        for (ResNetLayout.Block b : layout.blocks()) {
            blocks.add(new ResidualBlock(b, modules));
            blockNames.add(b.name());
        }
        ResNetLayout.Linear first = layout.head().get(0);
        fc = new Linear(first.in(), first.out());
        modules.put(first.name(), fc);
        if (layout.head().size() > 1) {
            ResNetLayout.Linear second = layout.head().get(1);
            fcRelu = new Relu();
            fc2 = new Linear(second.in(), second.out());
            modules.put(second.name(), fc2);
        } else {
            fcRelu = null;
            fc2 = null;
        }
    }

    static Conv2d conv(ResNetLayout.Conv c, Map<String, Object> modules) {
        Conv2d conv = new Conv2d(c.in(), c.out(), c.kernel(), c.stride(), c.padding());
        modules.put(c.name(), conv);
        return conv;
    }

    static BatchNorm2d bn(ResNetLayout.Norm n, Map<String, Object> modules) {
        BatchNorm2d bn = new BatchNorm2d(n.channels());
        modules.put(n.name(), bn);
        return bn;
    }

    /** Training-mode forward: x [N, C, H, W] -> head output [N, dim] (before MoCo's normalization). */
    public Tensor forward(Tensor x, int groups) {
        return head(backbone(x, groups));
    }

    /** Eval-mode forward: x -> head output [N, dim]. */
    public Tensor forwardEval(Tensor x) {
        return head(backbone(x, EVAL));
    }

    /** Global-pooled backbone output [N, 8*width*expansion]: the "features" of linear classification. */
    public Tensor backbone(Tensor x, int groups) {
        Tensor h = seen("bn1 + relu", relu.forward(ResidualBlock.bn(bn1, conv1.forward(x), groups)));
        if (maxpool != null) h = maxpool.forward(h);
        for (int i = 0; i < blocks.size(); i++) h = seen(blockNames.get(i), blocks.get(i).forward(h, groups));
        return seen("avgpool", avgpool.forward(h));
    }

    public Tensor head(Tensor features) {
        Tensor y = fc.forward(features);
        if (fc2 != null) y = fc2.forward(fcRelu.forward(y));
        return seen("the head", y);
    }

    /** dy [N, dim] -> dx [N, C, H, W]; adds into every parameter's gradient. */
    public Tensor backward(Tensor dy) {
        Tensor d = seen("the gradient at the features", fc2 != null ? fc.backward(fcRelu.backward(fc2.backward(dy))) : fc.backward(dy));
        d = avgpool.backward(d);
        for (int i = blocks.size() - 1; i >= 0; i--) d = seen("the gradient at " + blockNames.get(i) + "'s input", blocks.get(i).backward(d));
        if (maxpool != null) d = maxpool.backward(d);
        return conv1.backward(bn1.backward(relu.backward(d)));
    }

    /** Every trainable parameter under its torchvision name, in state-dict order. */
    public Map<String, Param> parameters() {
        Map<String, Param> params = new LinkedHashMap<>();
        modules.forEach((name, m) -> {
            if (m instanceof Conv2d conv) {
                params.put(name + ".weight", conv.weight);
            } else if (m instanceof BatchNorm2d bn) {
                params.put(name + ".weight", bn.weight);
                params.put(name + ".bias", bn.bias);
            } else if (m instanceof Linear lin) {
                params.put(name + ".weight", lin.weight);
                params.put(name + ".bias", lin.bias);
            }
        });
        return params;
    }

    /** Every BatchNorm under its torchvision module name ("layer1.0.bn2"). */
    public Map<String, BatchNorm2d> batchNorms() {
        Map<String, BatchNorm2d> bns = new LinkedHashMap<>();
        modules.forEach((name, m) -> {
            if (m instanceof BatchNorm2d bn) bns.put(name, bn);
        });
        return bns;
    }

    public void zeroGrad() {
        for (Param p : parameters().values()) p.zeroGrad();
    }

    /** Parameters and buffers as torchvision's {@code state_dict()}, names prefixed by {@code prefix}. */
    public Map<String, StoredTensor> stateDict(String prefix) {
        Map<String, StoredTensor> state = new LinkedHashMap<>();
        modules.forEach((name, m) -> {
            String p = prefix + name;
            if (m instanceof Conv2d conv) {
                state.put(p + ".weight", StoredTensor.of(conv.weight.value));
            } else if (m instanceof BatchNorm2d bn) {
                state.put(p + ".weight", StoredTensor.of(bn.weight.value));
                state.put(p + ".bias", StoredTensor.of(bn.bias.value));
                state.put(p + ".running_mean", StoredTensor.of(bn.runningMean));
                state.put(p + ".running_var", StoredTensor.of(bn.runningVar));
                state.put(p + ".num_batches_tracked", StoredTensor.i64(new long[] {bn.numBatchesTracked}));
            } else if (m instanceof Linear lin) {
                state.put(p + ".weight", StoredTensor.of(lin.weight.value));
                state.put(p + ".bias", StoredTensor.of(lin.bias.value));
            }
        });
        return state;
    }

    /**
     * Loads every parameter and buffer named {@code prefix + torchvision name} from {@code source},
     * which returns null for a missing name. A missing tensor or a wrong shape is an error naming
     * the tensor; {@code where} names the file for the message.
     */
    public void loadStateDict(Function<String, StoredTensor> source, String prefix, String where) {
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
        modules.forEach((name, m) -> {
            String p = prefix + name;
            if (m instanceof Conv2d conv) {
                copy(source.apply(p + ".weight"), conv.weight.value);
            } else if (m instanceof BatchNorm2d bn) {
                copy(source.apply(p + ".weight"), bn.weight.value);
                copy(source.apply(p + ".bias"), bn.bias.value);
                copy(source.apply(p + ".running_mean"), bn.runningMean);
                copy(source.apply(p + ".running_var"), bn.runningVar);
                bn.numBatchesTracked = source.apply(p + ".num_batches_tracked").toLongs()[0];
            } else if (m instanceof Linear lin) {
                copy(source.apply(p + ".weight"), lin.weight.value);
                copy(source.apply(p + ".bias"), lin.bias.value);
            }
        });
    }

    private static void copy(StoredTensor from, Tensor to) {
        System.arraycopy(from.toDoubles(), 0, to.data, 0, to.numel());
    }

    /** torchvision's initialization from {@code seed}, as {@link FreshState#encoder} gives it. */
    public void initialize(long seed) {
        loadStateDict(FreshState.encoder(ResNetLayout.of(config), seed)::get, "", "a fresh state");
    }
}
