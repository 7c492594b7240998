package mocoref.reference;

import java.util.Map;
import mocoref.backend.Encoder;
import mocoref.io.StoredTensor;
import mocoref.model.ResNetConfig;
import mocoref.tensor.Tensor;

/** The float64 ResNet in eval mode, loaded from a state dict. */
public final class ReferenceEncoder implements Encoder {
    private final ResNet net;

    public ReferenceEncoder(ResNetConfig config, Map<String, StoredTensor> state, String prefix, String where) {
        net = new ResNet(config);
        net.loadStateDict(state::get, prefix, where);
    }

    @Override
    public Encoded encode(Tensor images) {
        Tensor features = net.backbone(images, ResNet.EVAL);
        Tensor embeddings = net.head(features);
        return new Encoded(toFloats(features.data), toFloats(embeddings.data), images.size(0), features.size(1),
                embeddings.size(1));
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }
}
