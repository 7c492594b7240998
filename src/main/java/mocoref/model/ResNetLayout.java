package mocoref.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * torchvision's ResNet, spelled out once: every module's state-dict name, its shape and its place
 * in the wiring, for a {@link ResNetConfig}. The float64 reference encoder, the float32 encoder
 * every device runs, state-dict loading and saving, checkpoint inspection and torchvision interop
 * are all built from this one description; nothing else in the project writes {@code
 * "layer1.0.conv1"}. Written from torchvision's {@code resnet.py}:
 *
 * <pre>
 *   conv1 -> bn1 -> relu [-> maxpool]                       the stem
 *   layer1 .. layer4: blocks, stage s of width * 2^s        stride 2 on the first block of stages 2-4
 *   avgpool -> fc  (or fc.0 -> relu -> fc.2: MoCo v2's head)
 * </pre>
 *
 * @param config   the shape this layout spells out
 * @param conv1    the stem's convolution: 7x7 stride 2 (imagenet) or 3x3 stride 1 (cifar)
 * @param bn1      the stem's BatchNorm
 * @param maxPool  whether the stem ends in torchvision's 3x3 stride-2 max-pool (imagenet stem)
 * @param blocks   the residual blocks of layer1 .. layer4, in order
 * @param head     {@code fc}, or {@code fc.0} and {@code fc.2} with a ReLU between them
 */
public record ResNetLayout(ResNetConfig config, Conv conv1, Norm bn1, boolean maxPool, List<Block> blocks, List<Linear> head) {

    /** A convolution without bias; weight [out, in, kernel, kernel]. */
    public record Conv(String name, int in, int out, int kernel, int stride, int padding) {
        public int[] weightShape() {
            return new int[] {out, in, kernel, kernel};
        }

        /** Output rows (or columns) for {@code size} input rows. */
        public int outSize(int size) {
            return (size + 2 * padding - kernel) / stride + 1;
        }
    }

    /** A BatchNorm2d: weight, bias, running_mean, running_var [channels], num_batches_tracked. */
    public record Norm(String name, int channels) {}

    /** A Linear layer: weight [out, in], bias [out]. */
    public record Linear(String name, int in, int out) {}

    /**
     * A residual block as a chain: {@code convs[i] -> norms[i]}, with a ReLU after every stage but
     * the last, whose BatchNorm output is added to the shortcut before the block's final ReLU. The
     * shortcut is the input itself, or {@code downsample.0} (1x1 conv with the block's stride) and
     * {@code downsample.1} (BN) where the shapes differ. torchvision's BasicBlock is the chain 3x3
     * (stride s), 3x3; its Bottleneck ("v1.5") is 1x1, 3x3 (stride s), 1x1 to 4x the planes.
     */
    public record Block(String name, List<Conv> convs, List<Norm> norms, Conv downsample, Norm downsampleNorm) {
        public int inChannels() {
            return convs.get(0).in();
        }

        public int outChannels() {
            return convs.get(convs.size() - 1).out();
        }

        public boolean hasDownsample() {
            return downsample != null;
        }
    }

    /** The description of {@code config}. */
    public static ResNetLayout of(ResNetConfig config) {
        int w = config.width();
        boolean imagenet = config.stem() == ResNetConfig.Stem.IMAGENET;
        Conv conv1 = imagenet ? new Conv("conv1", config.inChannels(), w, 7, 2, 3) : new Conv("conv1", config.inChannels(), w, 3, 1, 1);
        List<Block> blocks = new ArrayList<>();
        int inPlanes = w, expansion = config.block().expansion;
        for (int stage = 0; stage < 4; stage++) {
            int planes = w << stage;
            for (int i = 0; i < config.layers()[stage]; i++) {
                String p = "layer" + (stage + 1) + "." + i + ".";
                int stride = stage > 0 && i == 0 ? 2 : 1;
                List<Conv> convs = config.block() == ResNetConfig.Block.BASIC
                        ? List.of(new Conv(p + "conv1", inPlanes, planes, 3, stride, 1), new Conv(p + "conv2", planes, planes, 3, 1, 1))
                        : List.of(new Conv(p + "conv1", inPlanes, planes, 1, 1, 0), new Conv(p + "conv2", planes, planes, 3, stride, 1),
                                new Conv(p + "conv3", planes, planes * expansion, 1, 1, 0));
                List<Norm> norms = new ArrayList<>();
                for (int s = 0; s < convs.size(); s++) norms.add(new Norm(p + "bn" + (s + 1), convs.get(s).out()));
                int out = planes * expansion;
                boolean ds = stride != 1 || inPlanes != out;
                blocks.add(new Block(p.substring(0, p.length() - 1), convs, List.copyOf(norms),
                        ds ? new Conv(p + "downsample.0", inPlanes, out, 1, stride, 0) : null,
                        ds ? new Norm(p + "downsample.1", out) : null));
                inPlanes = out;
            }
        }
        int c = config.featureChannels();
        List<Linear> head = config.mlp()
                ? List.of(new Linear("fc.0", c, c), new Linear("fc.2", c, config.dim()))
                : List.of(new Linear("fc", c, config.dim()));
        return new ResNetLayout(config, conv1, new Norm("bn1", w), imagenet, List.copyOf(blocks), head);
    }

    /** A trainable parameter: its torchvision name and shape. */
    public record Param(String name, int[] shape) {
        public int size() {
            int n = 1;
            for (int d : shape) n *= d;
            return n;
        }
    }

    /** Every module with state, in torchvision's order (convolutions, BatchNorms and Linear layers). */
    public List<Object> modules() {
        List<Object> m = new ArrayList<>(List.of(conv1, bn1));
        for (Block b : blocks) {
            for (int s = 0; s < b.convs().size(); s++) {
                m.add(b.convs().get(s));
                m.add(b.norms().get(s));
            }
            if (b.hasDownsample()) {
                m.add(b.downsample());
                m.add(b.downsampleNorm());
            }
        }
        m.addAll(head);
        return m;
    }

    /** Every BatchNorm, in torchvision's order. */
    public List<Norm> norms() {
        return modules().stream().filter(Norm.class::isInstance).map(Norm.class::cast).toList();
    }

    /** Every trainable parameter, in the order of torchvision's {@code named_parameters()}. */
    public List<Param> parameters() {
        List<Param> params = new ArrayList<>();
        for (Object m : modules()) {
            if (m instanceof Conv c) {
                params.add(new Param(c.name() + ".weight", c.weightShape()));
            } else if (m instanceof Norm n) {
                params.add(new Param(n.name() + ".weight", new int[] {n.channels()}));
                params.add(new Param(n.name() + ".bias", new int[] {n.channels()}));
            } else if (m instanceof Linear l) {
                params.add(new Param(l.name() + ".weight", new int[] {l.out(), l.in()}));
                params.add(new Param(l.name() + ".bias", new int[] {l.out()}));
            }
        }
        return params;
    }

    /** Names and shapes of {@code state_dict()}: parameters and BatchNorm buffers, in torchvision's order. */
    public Map<String, int[]> stateDict() {
        Map<String, int[]> out = backbone();
        out.putAll(headStateDict());
        return out;
    }

    /** {@link #stateDict} without the head: conv1, bn1, layer1..layer4 with their downsample branches. */
    public Map<String, int[]> backbone() {
        Map<String, int[]> out = new LinkedHashMap<>();
        for (Object m : modules()) {
            if (m instanceof Conv c) {
                out.put(c.name() + ".weight", c.weightShape());
            } else if (m instanceof Norm n) {
                int[] ch = {n.channels()};
                out.put(n.name() + ".weight", ch);
                out.put(n.name() + ".bias", ch);
                out.put(n.name() + ".running_mean", ch);
                out.put(n.name() + ".running_var", ch);
                out.put(n.name() + ".num_batches_tracked", new int[] {});
            }
        }
        return out;
    }

    /** The head's part of {@link #stateDict}. */
    public Map<String, int[]> headStateDict() {
        Map<String, int[]> out = new LinkedHashMap<>();
        for (Linear l : head) {
            out.put(l.name() + ".weight", new int[] {l.out(), l.in()});
            out.put(l.name() + ".bias", new int[] {l.out()});
        }
        return out;
    }

    /** Whether {@code name} (without prefix) is something a torchvision ResNet's state dict could hold. */
    public static boolean looksLikeResNet(String name) {
        return name.startsWith("conv1.") || name.startsWith("bn1.") || name.matches("layer[1-9]\\..*") || name.startsWith("fc.");
    }

    /** The --arch name of this block/layers combination (torchvision's constructor name, and resnet10), or null when it has none. */
    public String archName() {
        String layers = Arrays.toString(config.layers());
        if (config.block() == ResNetConfig.Block.BASIC) {
            if (layers.equals("[1, 1, 1, 1]")) return "resnet10"; // not torchvision's: ResNet(BasicBlock, [1, 1, 1, 1])
            if (layers.equals("[2, 2, 2, 2]")) return "resnet18";
            if (layers.equals("[3, 4, 6, 3]")) return "resnet34";
        } else {
            if (layers.equals("[3, 4, 6, 3]")) return "resnet50";
            if (layers.equals("[3, 4, 23, 3]")) return "resnet101";
            if (layers.equals("[3, 8, 36, 3]")) return "resnet152";
        }
        return null;
    }
}
