package mocoref.float32;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import mocoref.device.Activation;
import mocoref.device.Device;

/**
 * Activations shared by the layers of the networks on one device that never need them at the
 * same time, by {@link #get slot}: a block's backward gradients (live only while that block's
 * backward runs), the shortcut's BatchNorm output (read only by its block's residual add), and
 * every activation of a forward-only network (the key encoder, an eval encoder), which lives only
 * until the next layer has read it. Only what a training backward reads has an activation of its
 * own. The key encoder's forward and the query encoder's backward take turns on the same
 * activations; a basic-block network needs four per geometry. Slots are keyed by geometry and
 * channels, so two users of a slot always agree on its shape.
 *
 * <p>Across geometries a slot's activations share memory too ({@link Device#sharedActivation},
 * one bank per slot): a block's transient slots are dead before the next block's are written.
 * The one slot live across a change of geometry is the handoff, whose input and output a
 * downsampling block holds at once, so its geometries alternate between two banks in the order
 * the networks first ask for them (stage after stage).
 */
final class ActivationPool {
    /** Slots 0 to 5: a block's transient activations or gradients. */
    static final int TRANSIENT = 0;
    /**
     * The activation (forward-only network) or gradient (backward) handed from one block to the
     * next. A block whose input and output have one geometry writes its output over its input:
     * its last reads of the input are elementwise (the residual of the fused BatchNorm, BatchNorm's
     * backward).
     */
    static final int HANDOFF = 6;

    private final Device device;
    private final Map<List<Integer>, Activation> shared = new HashMap<>();
    /** Geometries [n, h, w] in the order first asked for: the handoff's bank alternates along it. */
    private final Map<List<Integer>, Integer> geometryOrder = new HashMap<>();

    ActivationPool(Device device) {
        this.device = device;
    }

    /** The activation [n, channels, h, w] in {@code slot}: the same one for every caller. */
    Activation get(int n, int channels, int h, int w, int slot) {
        int order = geometryOrder.computeIfAbsent(List.of(n, h, w), k -> geometryOrder.size());
        int bank = slot == HANDOFF ? HANDOFF + order % 2 : slot;
        return shared.computeIfAbsent(List.of(n, channels, h, w, slot), k -> device.sharedActivation(bank, n, channels, h, w));
    }
}
