package mocoref.backend;

import java.util.Map;
import mocoref.io.StoredTensor;

/** Both encoders, the queue and the optimizer of one MoCo run, on some backend. */
public interface MocoModel extends AutoCloseable {
    /** One training step: spec steps 1 to 8 (query, momentum update, keys, logits, loss, enqueue, SGD, running statistics). */
    StepResult step(StepInput input);

    /** The whole state under the spec's names, in the backend's dtype (F64 or F32). */
    Map<String, StoredTensor> state();

    /**
     * encoder_q in eval mode, on this model's own weights (no copy): what it encodes follows the
     * training. For the kNN monitor between epochs; not to be used while a step runs.
     */
    Encoder encoderQ();

    /** Frees what the model holds on its device (nothing, for host-memory backends). */
    @Override
    default void close() {}
}
