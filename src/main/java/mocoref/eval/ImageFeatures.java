package mocoref.eval;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import mocoref.MocoRefException;
import mocoref.backend.Encoder;
import mocoref.backend.ImageBatch;
import mocoref.io.DType;
import mocoref.io.SafeTensors;
import mocoref.io.SafeTensorsFile;
import mocoref.io.StoredTensor;

/**
 * {@code moco-ref features}: the eval-mode forward of images given as a tensor, exactly as they
 * are (no normalization: the caller's images are the encoder's input), so that the numbers can be
 * set beside PyTorch's {@code model.eval()(images)}.
 */
public final class ImageFeatures {
    private ImageFeatures() {}

    /**
     * The images of {@code path}: the tensor named {@code images}, or the file's only tensor; F32 or
     * F64, [N, C, H, W], with {@code channels} channels.
     */
    public static StoredTensor readImages(Path path, int channels, String encoderWhere) {
        SafeTensorsFile f = SafeTensors.read(path);
        StoredTensor images;
        if (f.has("images")) {
            images = f.get("images");
        } else if (f.names().size() == 1) {
            images = f.tensors().values().iterator().next();
        } else {
            throw new MocoRefException(path + ": no tensor 'images', and " + f.names().size()
                    + " tensors to choose from; name the images 'images'");
        }
        int[] s = images.shape();
        if (images.dtype() == DType.I64) throw new MocoRefException(path + ": images are I64; expected F32 or F64");
        if (s.length != 4) throw new MocoRefException(path + ": images have shape " + Arrays.toString(s) + "; expected [N, C, H, W]");
        if (s[1] != channels) {
            throw new MocoRefException(path + ": images have " + s[1] + " channels, but the encoder of " + encoderWhere + " takes "
                    + channels);
        }
        if (s[0] == 0) throw new MocoRefException(path + ": no images (N = 0)");
        return images;
    }

    /**
     * {@code features} [N, featureDim] and, when the encoder has a head, {@code embedding} [N, dim],
     * both F32, computed {@code batchSize} images at a time.
     */
    public static Map<String, StoredTensor> compute(Encoder encoder, StoredTensor images, int batchSize) {
        int[] s = images.shape();
        int n = s[0];
        int per = s[1] * s[2] * s[3];
        // float64 images stay float64 for the reference backend; float32 ones are never widened
        boolean f64 = images.dtype() == DType.F64;
        double[] all64 = f64 ? images.toDoubles() : null;
        float[] all32 = f64 ? null : images.toFloats();
        float[] features = null;
        float[] embedding = null;
        int featureDim = 0;
        int dim = 0;
        for (int start = 0; start < n; start += batchSize) {
            int size = Math.min(batchSize, n - start);
            ImageBatch batch = f64
                    ? ImageBatch.of(Arrays.copyOfRange(all64, start * per, (start + size) * per), size, s[1], s[2], s[3])
                    : ImageBatch.of(Arrays.copyOfRange(all32, start * per, (start + size) * per), size, s[1], s[2], s[3]);
            Encoder.Encoded e = encoder.encode(batch);
            if (features == null) {
                featureDim = e.featureDim();
                features = new float[n * featureDim];
                if (e.embeddings() != null) {
                    dim = e.dim();
                    embedding = new float[n * dim];
                }
            }
            System.arraycopy(e.features(), 0, features, start * featureDim, size * featureDim);
            if (embedding != null) System.arraycopy(e.embeddings(), 0, embedding, start * dim, size * dim);
        }
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        out.put("features", StoredTensor.f32(features, n, featureDim));
        if (embedding != null) out.put("embedding", StoredTensor.f32(embedding, n, dim));
        return out;
    }
}
