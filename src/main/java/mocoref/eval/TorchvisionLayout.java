package mocoref.eval;

import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.model.ResNetConfig;

/**
 * The names and shapes of a torchvision ResNet's {@code state_dict()} for a {@link ResNetConfig},
 * in torchvision's order. Written from torchvision's {@code resnet.py} rather than taken from a
 * model object, so that checking a checkpoint costs no allocation of the model, and so that the
 * transfer tests compare this listing against the real torchvision one.
 */
final class TorchvisionLayout {
    private TorchvisionLayout() {}

    /** Everything but the head: conv1, bn1, layer1..layer4 with their downsample branches. */
    static Map<String, int[]> backbone(ResNetConfig c) {
        Map<String, int[]> out = new LinkedHashMap<>();
        int w = c.width();
        int k = c.stem() == ResNetConfig.Stem.IMAGENET ? 7 : 3;
        out.put("conv1.weight", new int[] {w, c.inChannels(), k, k});
        batchNorm(out, "bn1", w);
        int inPlanes = w;
        int expansion = c.block().expansion;
        for (int stage = 0; stage < 4; stage++) {
            int planes = w << stage;
            for (int i = 0; i < c.layers()[stage]; i++) {
                String p = "layer" + (stage + 1) + "." + i + ".";
                int stride = stage > 0 && i == 0 ? 2 : 1;
                if (c.block() == ResNetConfig.Block.BASIC) {
                    conv(out, p + "conv1", planes, inPlanes, 3);
                    batchNorm(out, p + "bn1", planes);
                    conv(out, p + "conv2", planes, planes, 3);
                    batchNorm(out, p + "bn2", planes);
                } else { // torchvision's Bottleneck: the stride sits on the 3x3 conv
                    conv(out, p + "conv1", planes, inPlanes, 1);
                    batchNorm(out, p + "bn1", planes);
                    conv(out, p + "conv2", planes, planes, 3);
                    batchNorm(out, p + "bn2", planes);
                    conv(out, p + "conv3", planes * expansion, planes, 1);
                    batchNorm(out, p + "bn3", planes * expansion);
                }
                if (stride != 1 || inPlanes != planes * expansion) {
                    conv(out, p + "downsample.0", planes * expansion, inPlanes, 1);
                    batchNorm(out, p + "downsample.1", planes * expansion);
                }
                inPlanes = planes * expansion;
            }
        }
        return out;
    }

    /** The head: {@code fc} Linear(c, dim), or MoCo v2's {@code fc.0} Linear(c, c) and {@code fc.2} Linear(c, dim). */
    static Map<String, int[]> head(ResNetConfig c) {
        Map<String, int[]> out = new LinkedHashMap<>();
        int f = c.featureChannels();
        if (c.mlp()) {
            out.put("fc.0.weight", new int[] {f, f});
            out.put("fc.0.bias", new int[] {f});
            out.put("fc.2.weight", new int[] {c.dim(), f});
            out.put("fc.2.bias", new int[] {c.dim()});
        } else {
            out.put("fc.weight", new int[] {c.dim(), f});
            out.put("fc.bias", new int[] {c.dim()});
        }
        return out;
    }

    /** Whether {@code name} (without prefix) is something a torchvision ResNet's state dict could hold. */
    static boolean looksLikeResNet(String name) {
        return name.startsWith("conv1.") || name.startsWith("bn1.") || name.matches("layer[1-9]\\..*") || name.startsWith("fc.");
    }

    /** The torchvision constructor name of a block/layers combination, or null when torchvision has none. */
    static String archName(ResNetConfig c) {
        String layers = java.util.Arrays.toString(c.layers());
        if (c.block() == ResNetConfig.Block.BASIC) {
            if (layers.equals("[2, 2, 2, 2]")) return "resnet18";
            if (layers.equals("[3, 4, 6, 3]")) return "resnet34";
        } else {
            if (layers.equals("[3, 4, 6, 3]")) return "resnet50";
            if (layers.equals("[3, 4, 23, 3]")) return "resnet101";
            if (layers.equals("[3, 8, 36, 3]")) return "resnet152";
        }
        return null;
    }

    private static void conv(Map<String, int[]> out, String name, int cout, int cin, int k) {
        out.put(name + ".weight", new int[] {cout, cin, k, k});
    }

    private static void batchNorm(Map<String, int[]> out, String name, int channels) {
        out.put(name + ".weight", new int[] {channels});
        out.put(name + ".bias", new int[] {channels});
        out.put(name + ".running_mean", new int[] {channels});
        out.put(name + ".running_var", new int[] {channels});
        out.put(name + ".num_batches_tracked", new int[] {});
    }
}
