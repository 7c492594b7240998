package mocoref.backend;

import java.util.Map;
import mocoref.io.StoredTensor;
import mocoref.model.MocoConfig;
import mocoref.model.ResNetConfig;

/**
 * A way to compute MoCo steps: {@code reference} (float64, one thread, the truth), {@code cpu}
 * (float32, all cores) and {@code opencl}. {@code --backend} is the only switch between them, and
 * the golden suite judges them all the same way. Implementations are registered in
 * {@code mocoref.registry.Backends}; this package knows none of them.
 */
public interface Backend {
    String name();

    /** What it runs on, for logs ("cpu: vector-512 8x32 kernels, 2 threads"). */
    String describe();

    /** True when the backend computes in float64 (judged at 1e-9), false for float32 (judged at 2e-4). */
    boolean isFloat64();

    /**
     * A MoCo model in the state {@code init} describes, under the golden-case spec's names
     * ({@code encoder_q.*}, {@code encoder_k.*}, {@code queue}, {@code queue_ptr} and, optionally,
     * {@code optimizer.encoder_q.<param>.momentum_buffer}).
     */
    MocoModel create(MocoConfig config, Map<String, StoredTensor> init, String where);

    /**
     * This backend with {@code --detect-anomaly}: every model it creates checks its layers' outputs
     * and gradients (and its parameters after each update) for NaN and infinity, and stops at the
     * first with a {@link Diverged} that names the layer and the value. Slow: for debugging.
     */
    Backend detectingAnomalies();

    /**
     * An eval-mode encoder from the tensors named {@code prefix + torchvision name} in
     * {@code state} (e.g. prefix "encoder_q." for a MoCo state, "" for a plain state dict).
     */
    Encoder encoder(ResNetConfig config, Map<String, StoredTensor> state, String prefix, String where);
}
