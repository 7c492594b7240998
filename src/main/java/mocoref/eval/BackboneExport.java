package mocoref.eval;

import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.model.ResNetLayout;
import mocoref.io.StoredTensor;

/**
 * {@code moco-ref export}: the query encoder without its head, as a torchvision state dict (the
 * official repo's conversion for detection and main_lincls.py's loading both drop {@code fc} the
 * same way). F32, torchvision's names and order; {@code num_batches_tracked} I64 [] as torch
 * saves it. Loads into {@code torchvision.models.resnet18()} (width 64) with {@code strict=False},
 * only {@code fc.weight} and {@code fc.bias} reported missing; narrower widths load the same way
 * into the equivalent narrow model.
 */
public final class BackboneExport {
    public static final String FORMAT = "moco-ref-backbone/1";

    private BackboneExport() {}

    public static Map<String, StoredTensor> tensors(CheckpointModel model) {
        return model.backbone();
    }

    /** {@code format}, {@code config} (the architecture, normalization, image size and data, as the checkpoint had them), {@code arch}, {@code source}. */
    public static Map<String, String> metadata(CheckpointModel model) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("config", model.configJson(false));
        String arch = ResNetLayout.of(model.config()).archName();
        meta.put("arch", arch == null ? "custom" : arch);
        meta.put("width", Integer.toString(model.config().width()));
        meta.put("stem", model.config().stem().id());
        meta.put("feature_dim", Integer.toString(model.featureDim()));
        meta.put("source", model.path().toString());
        meta.put("source_format", model.format());
        return meta;
    }
}
