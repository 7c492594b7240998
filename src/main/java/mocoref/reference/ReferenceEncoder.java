package mocoref.reference;

import java.util.Map;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Tensor;

/** The float64 ResNet in eval mode: one loaded from a state dict, or a training model's own encoder_q. */
public final class ReferenceEncoder implements Encoder {
    private final ResNet net;

    public ReferenceEncoder(ResNetConfig config, Map<String, StoredTensor> state, String prefix, String where) {
        net = new ResNet(config);
        net.loadStateDict(state::get, prefix, where);
    }

    /** Eval mode on {@code net} itself (eval mode changes no state). */
    ReferenceEncoder(ResNet net) {
        this.net = net;
    }

    @Override
    public Encoded encode(ImageBatch images) {
        Tensor features = net.backbone(images.toTensor(), ResNet.EVAL);
        Tensor embeddings = net.head(features);
        return new Encoded(toFloats(features.data), toFloats(embeddings.data), images.n(), features.size(1),
                embeddings.size(1));
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
